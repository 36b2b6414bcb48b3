import { defineConfig } from '@playwright/test'

/**
 * Runs in Debian's Chromium (`/usr/bin/chromium`, installed by `scripts/setup.mjs --browsers`);
 * Playwright never downloads a browser. Reporters: list for people, json for `scripts/test.mjs`
 * (it sets PLAYWRIGHT_JSON_OUTPUT_NAME).
 */
export default defineConfig({
  testDir: './tests',
  outputDir: './.artifacts',
  workers: 1,
  retries: 0,
  timeout: 60_000,
  fullyParallel: false,
  forbidOnly: process.env.CI === 'true',
  reporter: process.env.PLAYWRIGHT_JSON_OUTPUT_NAME ? [['list'], ['json']] : [['list']],
  use: {
    browserName: 'chromium',
    headless: true,
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      // WebRtcHideLocalIpsWithMdns off: host candidates carry the namespace's address instead of
      // an mDNS name (no multicast is sent, and node-datachannel could not resolve it anyway)
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-features=WebRtcHideLocalIpsWithMdns']
    },
    trace: 'retain-on-failure'
  }
})

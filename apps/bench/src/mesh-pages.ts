/**
 * Chromium pages for the mesh run: `meshPageDriver(page)` drives a page that has the
 * e2e/pages/mesh-peer.ts bundle loaded (the e2e test serves it from its fixtures), and
 * `launchMeshPages()` is the bench's own way to get such pages: Debian's Chromium through
 * Playwright, the bundle built with esbuild and served from a tiny HTTP server on 127.0.0.1 (a
 * secure context, so WebCrypto works; and a loopback origin: Chromium's local network access
 * checks block a page from elsewhere, even one intercepted at `http://localhost/`, from
 * opening a WebSocket to the relay on 127.0.0.1).
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from '@playwright/test'
import type { Browser, Page } from '@playwright/test'
import * as esbuild from 'esbuild'
import type { MeshPageDriver } from './mesh-run.js'

/** The flags of e2e/playwright.config.ts (host candidates carry the namespace's address, not an mDNS name). */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-features=WebRtcHideLocalIpsWithMdns']

const e2eRoot = fileURLToPath(new URL('../../../e2e/', import.meta.url))

interface MeshWindow {
  __mesh: {
    start: (seed: string) => Promise<{ id?: string, error?: string }>
    state: () => { id: string, active: string[], firstDirectMs: number | null } | null
    takeReceived: () => string[]
    broadcast: (bid: string) => void
    metrics: () => Record<string, number>
    stop: () => Promise<void>
  }
}
type W = typeof globalThis & MeshWindow

/** A `MeshPageDriver` over a page with the mesh-peer bundle loaded; `close` also closes `onClose`'s context. */
export function meshPageDriver (page: Page, onClose: () => Promise<void> = async () => { await page.close() }): MeshPageDriver {
  return {
    start: async (seed) => await page.evaluate(async (s) => await (globalThis as W).__mesh.start(s), seed),
    state: async () => await page.evaluate(() => (globalThis as W).__mesh.state()),
    takeReceived: async () => await page.evaluate(() => (globalThis as W).__mesh.takeReceived()),
    broadcast: async (bid) => { await page.evaluate((b) => { (globalThis as W).__mesh.broadcast(b) }, bid) },
    metrics: async () => await page.evaluate(() => (globalThis as W).__mesh.metrics()),
    close: async () => {
      await page.evaluate(async () => { await (globalThis as W).__mesh.stop() }).catch(() => {})
      await onClose()
    }
  }
}

/** Builds e2e/pages/mesh-peer.ts for the browser (workspace packages from their TypeScript source). */
export async function buildMeshPage (): Promise<string> {
  const result = await esbuild.build({
    absWorkingDir: e2eRoot,
    entryPoints: [path.join(e2eRoot, 'pages', 'mesh-peer.ts')],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    conditions: ['source', 'browser'],
    write: false,
    logLevel: 'silent'
  })
  return result.outputFiles[0]!.text
}

export interface MeshPages {
  browser: Browser
  /** A fresh page (its own context: no shared storage) with the bundle loaded. */
  open: () => Promise<MeshPageDriver>
  close: () => Promise<void>
}

/** Launches Chromium (`/usr/bin/chromium` unless `CHROMIUM` names another) for mesh pages. */
export async function launchMeshPages (): Promise<MeshPages> {
  const code = await buildMeshPage()
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS })
  const html = '<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="/mesh-peer.js"></script></head><body></body></html>'
  const server = http.createServer((req, res) => {
    const js = req.url === '/mesh-peer.js'
    if (!js && req.url !== '/') { res.writeHead(404).end(); return }
    res.writeHead(200, { 'content-type': js ? 'text/javascript' : 'text/html', 'cache-control': 'no-store' }).end(js ? code : html)
  })
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', resolve) })
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
  return {
    browser,
    open: async () => {
      const context = await browser.newContext()
      const page = await context.newPage()
      page.on('pageerror', (err) => { console.error(`page error: ${err.message}`) })
      await page.goto(base, { waitUntil: 'load' })
      await page.waitForFunction(() => (globalThis as W).__mesh !== undefined)
      return meshPageDriver(page, async () => { await context.close() })
    },
    close: async () => {
      await browser.close()
      server.closeAllConnections()
      await new Promise<void>(resolve => { server.close(() => { resolve() }) })
    }
  }
}

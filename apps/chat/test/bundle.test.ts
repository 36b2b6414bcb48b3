/**
 * The chat page's bundle: esbuild, the browser entry of `hearsay`, no Node built-ins and no
 * shims; `index.html` and `chat.css` next to it. Built from the sources into a temp directory,
 * so the test does not depend on (or overwrite) `pnpm build`'s output.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { bundleChat, DEFAULT_OUTDIR } from '../src/bundle.js'

const outdir = mkdtempSync(path.join(os.tmpdir(), 'hearsay-chat-bundle-'))
afterAll(() => { rmSync(outdir, { recursive: true, force: true }) })

describe('chat page bundle', () => {
  it('bundles the browser entry of hearsay with no Node built-ins, ws, LevelDB or TCP', async () => {
    const r = await bundleChat({ outdir, conditions: ['source', 'browser'] })
    expect(r.files).toEqual(['chat.js', 'index.html', 'chat.css'])
    const inputs = Object.keys(r.metafile.inputs)
    expect(inputs.some(p => p.endsWith('packages/hearsay/src/index.browser.ts'))).toBe(true)
    expect(inputs.some(p => p.endsWith('packages/transport-ws/src/index.browser.ts'))).toBe(true)
    for (const banned of ['classic-level', '/ws@', 'index.node.ts', 'transport-tcp/src/transport.ts', 'node-streams']) {
      expect(inputs.filter(p => p.includes(banned)), banned).toEqual([])
    }
    const js = readFileSync(path.join(outdir, 'chat.js'), 'utf8')
    expect(js).not.toMatch(/\brequire\(\s*["'](node:)?(fs|net|tls|crypto|stream|buffer|events|path)["']\)/)
    expect(readFileSync(path.join(outdir, 'index.html'), 'utf8')).toContain('<script type="module" src="chat.js"></script>')
    console.log(`chat page bundle: ${r.bytes} bytes minified, ${r.gzipBytes} bytes gzip`)
    expect(r.gzipBytes).toBeLessThan(150_000)
  })

  it('writes to apps/chat/dist/web by default, which the relay serves', () => {
    expect(DEFAULT_OUTDIR.endsWith(path.join('apps', 'chat', 'dist', 'web'))).toBe(true)
  })
})

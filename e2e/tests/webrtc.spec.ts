/**
 * WebRTC in real Chromium, inside the network namespace that scripts/test.mjs makes
 * (scripts/netns.mjs; skipped outside it, so these tests never use the machine's interfaces):
 *
 * (b) two pages open a direct WebRTC link, signalled through the relay CLI (a child process),
 *     and keep exchanging messages after the relay process is killed (SIGKILL); with the overlay on, two
 *     pages that only know the relay link up directly by themselves;
 * (c) a page and a Node node connect over WebRTC, each way (node-datachannel on the Node side).
 *
 * Measured and printed (and written to e2e/.artifacts/webrtc-measurements.json): connect time
 * browser↔browser and browser↔Node (median of several), messages/s over a data channel (64 B
 * and 1 KiB, through the whole stack: envelope, secure channel, chunking), and the gzip size of
 * the browser entry with WebRTC against `hearsay/lite`.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import type { BrowserContext, Page } from '@playwright/test'
import { createNode } from '@hearsay/core'
import type { HearsayNode } from '@hearsay/core'
import { webSockets } from '@hearsay/transport-ws'
import { webRTC } from '@hearsay/transport-webrtc'
import type { RtcDial, RtcStart } from '../pages/webrtc.js'
import { buildMinified, collectErrors, expect, nodeBuiltinReferences, test } from './fixtures.js'
import { spawnRelay } from './relay-process.js'
import type { RelayProcess } from './relay-process.js'

const inNetns = process.env.HEARSAY_NETNS === '1'
const artifacts = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '.artifacts')
const TRIALS = 5
const measurements: Record<string, unknown> = {}

test.describe.configure({ mode: 'serial' })
test.skip(!inNetns, 'WebRTC e2e tests run inside a network namespace: node scripts/netns.mjs npx playwright test -c e2e/playwright.config.ts webrtc')

let relay: RelayProcess | undefined
const contexts = new Set<BrowserContext>()
const nodes: HearsayNode[] = []

test.afterEach(async () => {
  await Promise.all([...contexts].map(async c => { await c.close() }))
  contexts.clear()
  await Promise.all(nodes.splice(0).map(async n => { await n.stop() }))
  if (relay !== undefined) { await relay.stop(); relay = undefined }
})

test.afterAll(() => {
  if (Object.keys(measurements).length === 0) return
  mkdirSync(artifacts, { recursive: true })
  writeFileSync(path.join(artifacts, 'webrtc-measurements.json'), JSON.stringify(measurements, null, 2) + '\n')
})

interface RtcPageHandle { page: Page, id: string, errors: string[] }

/** A fresh page (own context) with the webrtc bundle, started against `seed`. */
async function openPage (browser: import('@playwright/test').Browser, baseURL: string, seed: string, overlay = false, webCryptoAes = false): Promise<RtcPageHandle> {
  const context = await browser.newContext()
  contexts.add(context)
  const page = await context.newPage()
  const errors = collectErrors(page)
  await page.goto(`${baseURL}/webrtc.html`, { waitUntil: 'load' })
  const started: RtcStart = await page.evaluate(async ([s, o, x]) => await window.__rtc!.start(s, o, undefined, x), [seed, overlay, webCryptoAes] as const)
  expect(started.error, JSON.stringify(started.error)).toBeUndefined()
  expect(started.addresses).toEqual([`webrtc:${started.id!}`])
  return { page, id: started.id!, errors }
}

async function waitPeer (p: RtcPageHandle, id: string, ms = 20_000): Promise<void> {
  await p.page.evaluate(async ([i, t]) => { await window.__rtc!.waitPeer(i, t) }, [id, ms] as const)
}

async function dial (p: RtcPageHandle, address: string): Promise<RtcDial> {
  return await p.page.evaluate(async (a) => await window.__rtc!.dial(a), address)
}

async function hangUpPage (p: RtcPageHandle, id: string): Promise<void> {
  await p.page.evaluate(async (i) => { await window.__rtc!.hangUp(i) }, id)
}

function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

async function rate (from: RtcPageHandle, to: string, size: number, count: number): Promise<number> {
  const ms = await from.page.evaluate(async ([t, s, c]) => await window.__rtc!.blast(t, s, c), [to, size, count] as const)
  return Math.round(count / (ms / 1000))
}

test('(b) two pages link directly over WebRTC through the relay process and keep talking after it is killed (SIGKILL)', async ({ browser, staticServer }) => {
  await staticServer.bundle('webrtc')
  relay = await spawnRelay()
  const a = await openPage(browser, staticServer.baseURL, relay.ws)
  const b = await openPage(browser, staticServer.baseURL, relay.ws)
  await waitPeer(a, relay.id)
  await waitPeer(b, relay.id)
  // no wait for the relay to hold b's link too: a page holds its link a moment before the relay
  // does, and the relay holds a signal for b that comes in that moment (SIGNAL_HOLD_MS)

  // connect time browser↔browser: the first dial, then hang up and dial again
  const times: number[] = []
  for (let i = 0; i < TRIALS; i++) {
    const r = await dial(a, `webrtc:${b.id}`)
    expect(r.error, JSON.stringify(r.error)).toBeUndefined()
    expect(r.remoteId).toBe(b.id)
    expect(r.address).toBe(`webrtc:${b.id}`)
    times.push(r.ms!)
    if (i < TRIALS - 1) {
      await hangUpPage(a, b.id)
      await a.page.waitForFunction((id) => !window.__rtc!.peers().some(p => p.id === id), b.id)
      await b.page.waitForFunction((id) => !window.__rtc!.peers().some(p => p.id === id), a.id)
    }
  }
  console.log(`WebRTC connect browser→browser (signalled through the relay process; ICE + DTLS + SCTP + secure handshake): median ${median(times).toFixed(1)} ms of ${times.map(t => t.toFixed(0)).join(', ')}`)
  measurements.connectBrowserBrowserMs = { median: median(times), trials: times }
  await waitPeer(b, a.id)
  expect((await b.page.evaluate(() => window.__rtc!.peers())).find(p => p.id === a.id)?.address).toBe(`webrtc:${a.id}`)

  // pages seal with XSalsa20-Poly1305 (JavaScript) by default. Measured beside it in this run:
  // two pages that offer AES-256-GCM through WebCrypto (webCryptoAes256Gcm, opt-in)
  expect(await a.page.evaluate((id) => window.__rtc!.cipherSuite(id), b.id)).toBe('xsalsa20-poly1305')
  const c = await openPage(browser, staticServer.baseURL, relay.ws, false, true)
  const d = await openPage(browser, staticServer.baseURL, relay.ws, false, true)
  await waitPeer(c, relay.id)
  await waitPeer(d, relay.id)
  expect((await dial(c, `webrtc:${d.id}`)).error).toBeUndefined()
  expect(await c.page.evaluate((id) => window.__rtc!.cipherSuite(id), d.id)).toBe('aes-256-gcm')
  // and with the relay (Node: node:crypto's AES-256-GCM)
  expect(await c.page.evaluate((id) => window.__rtc!.cipherSuite(id), relay.id)).toBe('aes-256-gcm')
  const aes = { '64B': await rate(c, d.id, 64, 20_000), '1KiB': await rate(c, d.id, 1024, 10_000) }
  await Promise.all([c, d].map(async (p) => { await p.page.evaluate(async () => { await window.__rtc!.stop() }) }))
  console.log(`WebRTC messages/s browser→browser with AES-256-GCM through WebCrypto: 64 B ${aes['64B']}/s, 1 KiB ${aes['1KiB']}/s`)
  measurements.browserBrowserWebCryptoAesMsgsPerSec = aes

  // the relay process is killed (SIGKILL: no goodbye); the direct link stays
  await relay.kill()
  relay = undefined
  await a.page.waitForFunction((id) => window.__rtc!.peers().every(p => p.id === id), b.id, { timeout: 15_000 })
  await b.page.waitForFunction((id) => window.__rtc!.peers().every(p => p.id === id), a.id, { timeout: 15_000 })
  await a.page.evaluate((id) => { window.__rtc!.send(id, 'chat', 'from a, after the relay') }, b.id)
  await b.page.evaluate((id) => { window.__rtc!.send(id, 'chat', 'from b, after the relay') }, a.id)
  await a.page.waitForFunction(() => window.__rtc!.messages().length === 1)
  await b.page.waitForFunction(() => window.__rtc!.messages().length === 1)
  expect(await a.page.evaluate(() => window.__rtc!.messages())).toEqual([{ from: b.id, type: 'chat', data: 'from b, after the relay' }])
  expect(await b.page.evaluate(() => window.__rtc!.messages())).toEqual([{ from: a.id, type: 'chat', data: 'from a, after the relay' }])

  // messages/s over the data channel, browser→browser, with only the direct link left
  const small = await rate(a, b.id, 64, 20_000)
  const kib = await rate(a, b.id, 1024, 10_000)
  console.log(`WebRTC messages/s browser→browser (hearsay messages, secure channel, data channel): 64 B ${small}/s, 1 KiB ${kib}/s`)
  measurements.browserBrowserMsgsPerSec = { '64B': small, '1KiB': kib }
  measurements.browserBrowserWebCryptoAesVsXsalsa = { '64B': aes['64B'] / small, '1KiB': aes['1KiB'] / kib }
  console.log(`AES-256-GCM (WebCrypto) ÷ XSalsa20-Poly1305, same run: 64 B ${(aes['64B'] / small).toFixed(2)}, 1 KiB ${(aes['1KiB'] / kib).toFixed(2)}`)
  // still connected, nothing broke
  expect((await a.page.evaluate(() => window.__rtc!.peers())).map(p => p.id)).toEqual([b.id])
  expect([...a.errors, ...b.errors]).toEqual([])
})

test('(b) with the overlay on, two pages that only know the relay link up directly by themselves', async ({ browser, staticServer }) => {
  relay = await spawnRelay()
  const a = await openPage(browser, staticServer.baseURL, relay.ws, true)
  const b = await openPage(browser, staticServer.baseURL, relay.ws, true)
  // HyParView's JOIN through the relay reaches the other page, which dials webrtc:<id>
  await waitPeer(a, b.id, 30_000)
  await waitPeer(b, a.id, 30_000)
  expect((await a.page.evaluate(() => window.__rtc!.peers())).find(p => p.id === b.id)?.address).toBe(`webrtc:${b.id}`)
  expect([...a.errors, ...b.errors]).toEqual([])
})

test('(c) a page and a Node node connect over WebRTC, each way', async ({ browser, staticServer }) => {
  relay = await spawnRelay()
  const node = createNode({ transports: [webSockets(), webRTC()], listen: ['webrtc:*'], seeds: [relay.ws], overlay: false })
  nodes.push(node)
  await node.start()
  const p = await openPage(browser, staticServer.baseURL, relay.ws)
  await waitPeer(p, relay.id)
  await expect.poll(() => node.getPeer(relay!.id) !== undefined, { timeout: 10_000 }).toBe(true)

  // browser → Node (Chromium offers, node-datachannel answers)
  const toNode: number[] = []
  for (let i = 0; i < TRIALS; i++) {
    const r = await dial(p, `webrtc:${node.id}`)
    expect(r.error, JSON.stringify(r.error)).toBeUndefined()
    expect(r.remoteId).toBe(node.id)
    toNode.push(r.ms!)
    await expect.poll(() => node.getPeer(p.id) !== undefined, { timeout: 10_000 }).toBe(true)
    await node.hangUp(p.id)
    await p.page.waitForFunction((id) => !window.__rtc!.peers().some(x => x.id === id), node.id)
  }
  // Node → browser (node-datachannel offers, Chromium answers)
  const fromNode: number[] = []
  for (let i = 0; i < TRIALS; i++) {
    const started = performance.now()
    const peer = await node.dial(`webrtc:${p.id}`, { timeout: 15_000 })
    fromNode.push(performance.now() - started)
    expect(peer.id).toBe(p.id)
    expect(peer.address).toBe(`webrtc:${p.id}`)
    if (i < TRIALS - 1) {
      await node.hangUp(p.id)
      await p.page.waitForFunction((id) => !window.__rtc!.peers().some(x => x.id === id), node.id)
    }
  }
  console.log(`WebRTC connect browser→Node: median ${median(toNode).toFixed(1)} ms of ${toNode.map(t => t.toFixed(0)).join(', ')}`)
  console.log(`WebRTC connect Node→browser: median ${median(fromNode).toFixed(1)} ms of ${fromNode.map(t => t.toFixed(0)).join(', ')}`)
  measurements.connectBrowserToNodeMs = { median: median(toNode), trials: toNode }
  measurements.connectNodeToBrowserMs = { median: median(fromNode), trials: fromNode }

  // messages both ways
  const got: unknown[] = []
  node.route('chat', (m) => { got.push(m.data) })
  await p.page.waitForFunction((id) => window.__rtc!.peers().some(x => x.id === id && x.address === `webrtc:${id}`), node.id)
  await p.page.evaluate((id) => { window.__rtc!.send(id, 'chat', 'from Chromium') }, node.id)
  node.getPeer(p.id)!.send('chat', 'from Node')
  await expect.poll(() => got, { timeout: 10_000 }).toEqual(['from Chromium'])
  await p.page.waitForFunction(() => window.__rtc!.messages().length === 1)
  expect(await p.page.evaluate(() => window.__rtc!.messages())).toEqual([{ from: node.id, type: 'chat', data: 'from Node' }])

  // messages/s browser→Node; the Node node counts and answers like a page
  let count = 0
  node.route('bench', () => { count++ })
  node.route('bench.end', (m) => { m.from.send('bench.done', count); count = 0 })
  const small = await rate(p, node.id, 64, 20_000)
  const kib = await rate(p, node.id, 1024, 10_000)
  console.log(`WebRTC messages/s browser→Node (hearsay messages, secure channel, data channel): 64 B ${small}/s, 1 KiB ${kib}/s`)
  measurements.browserNodeMsgsPerSec = { '64B': small, '1KiB': kib }
  expect(p.errors).toEqual([])
})

test('the browser entry with WebRTC: no node built-ins, no shims; its size against hearsay/lite', async () => {
  const full = await buildMinified('hearsay-webrtc-size', "export { createNode } from 'hearsay'\n")
  const lite = await buildMinified('hearsay-lite-size', "export { createNode } from 'hearsay/lite'\n")
  for (const b of [full, lite]) expect(nodeBuiltinReferences(b)).toEqual([])
  const inputs = Object.keys(full.metafile.inputs)
  expect(inputs.some(p => p.includes('transport-webrtc/src/rtc-peer.ts'))).toBe(true)
  expect(inputs.filter(p => p.includes('node-datachannel') || p.endsWith('.node.ts'))).toEqual([])
  const gz = (code: string): number => gzipSync(Buffer.from(code, 'utf8'), { level: 9 }).byteLength
  const sizes = { withWebRTC: gz(full.code), lite: gz(lite.code), minifiedWithWebRTC: full.code.length, minifiedLite: lite.code.length }
  console.log(`bundle createNode from 'hearsay' (ws + WebRTC + IndexedDB + every service): ${sizes.withWebRTC} bytes gzip (${sizes.minifiedWithWebRTC} minified); hearsay/lite (no WebRTC, no services): ${sizes.lite} bytes gzip; the difference ${sizes.withWebRTC - sizes.lite}`)
  measurements.bundleGzipBytes = sizes
})

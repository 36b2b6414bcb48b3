/**
 * The relay's HTTP side, in-process on port 0: /healthz, /metrics (parsed strictly), /status.json,
 * the status page, the chat directory (and requests that try to leave it), methods and phases.
 */
import { writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { jsonLogger, memoryStore, createNode } from '@hearsay/core'
import { createRoutes } from '../src/http-routes.js'
import type { RouteOptions } from '../src/http-routes.js'
import { PUBLIC_DIR } from '../src/relay.js'
import type { StatusReport } from '../src/status.js'
import { addressOf, cleanup, nextEvent, tempDir, testNode, testRelay } from './helpers.js'
import { parseExposition, sampleValue } from './prometheus-format.js'

afterEach(cleanup)

describe('relay HTTP endpoints', () => {
  it('GET /healthz answers 200 with JSON while running; HEAD has no body; POST is refused', async () => {
    const relay = await testRelay()
    const res = await fetch(`${relay.url}/healthz`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8')
    expect(await res.json()).toMatchObject({ status: 'ok', id: relay.node.id, peers: 0 })
    const head = await fetch(`${relay.url}/healthz`, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(await head.text()).toBe('')
    const post = await fetch(`${relay.url}/healthz`, { method: 'POST', body: 'x' })
    expect(post.status).toBe(405)
    expect(post.headers.get('allow')).toBe('GET, HEAD')
  })

  it('GET /metrics is valid Prometheus text with peers, messages and bytes in and out, drops and handshake failures', async () => {
    const relay = await testRelay()
    const client = await testNode({ overlay: false })
    const peer = await client.dial(addressOf(relay, 'ws'))
    const got = nextEvent(relay.node, 'message')
    peer.send('hello', { n: 1 })
    await got
    await client.ping(peer) // the relay answers: bytes out
    const res = await fetch(`${relay.url}/metrics`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
    const f = parseExposition(await res.text())
    expect(sampleValue(f, 'hearsay_peers')).toBe(1)
    expect(sampleValue(f, 'hearsay_messages_in_total')).toBeGreaterThanOrEqual(1)
    expect(sampleValue(f, 'hearsay_messages_out_total')).toBe(0)
    expect(sampleValue(f, 'hearsay_bytes_in_total')).toBeGreaterThan(0)
    expect(sampleValue(f, 'hearsay_bytes_out_total')).toBeGreaterThan(0)
    expect(sampleValue(f, 'hearsay_handshake_failures_total')).toBe(0)
    expect(f.get('hearsay_drops_total')?.type).toBe('counter')
    expect(sampleValue(f, 'hearsay_info', { id: relay.node.id })).toBe(1)
    expect(f.get('hearsay_uptime_seconds')?.type).toBe('gauge')
    // the metrics follow node.metrics: every counter the node has is there
    for (const name of Object.keys(relay.node.metrics.snapshot()).filter(n => !n.startsWith('drops.'))) {
      expect(f.has(`hearsay_${name.replace(/[^a-zA-Z0-9_]/g, '_')}_total`), name).toBe(true)
    }
  })

  it('GET /status.json lists connected peers, overlay neighbours as active, plain links not', async () => {
    const relay = await testRelay()
    const neighbour = await testNode({ seeds: [addressOf(relay, 'ws')] })
    const plain = await testNode({ overlay: false })
    await plain.dial(addressOf(relay, 'ws'))
    await expect.poll(() => relay.node.overlay?.active.includes(neighbour.id), { timeout: 10_000 }).toBe(true)
    // the relay has the plain link once it checked the last handshake message, a moment after the dialler
    await expect.poll(() => relay.node.getPeer(plain.id) !== undefined, { timeout: 10_000 }).toBe(true)
    const res = await fetch(`${relay.url}/status.json`)
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8')
    const report = await res.json() as StatusReport
    expect(report).toMatchObject({ id: relay.node.id, status: 'running', overlay: true, omitted: { peers: 0, passive: 0 } })
    expect(report.addresses).toEqual(relay.node.addresses)
    expect(new Date(report.startedAt).getTime()).toBeLessThanOrEqual(Date.now())
    expect(report.peers).toHaveLength(2)
    expect(report.peers[0]).toMatchObject({ id: neighbour.id, active: true, direction: 'inbound' })
    expect(report.peers[1]).toMatchObject({ id: plain.id, active: false, direction: 'inbound' })
    expect(report.peers[0]!.connectedFor).toBeGreaterThanOrEqual(0)
    expect(report.counters.bytesIn).toBeGreaterThan(0)
  })

  it('serves the status page and its assets, with a content security policy', async () => {
    const relay = await testRelay()
    for (const p of ['/status', '/status/']) {
      const res = await fetch(`${relay.url}${p}`)
      expect(res.status, p).toBe(200)
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
      expect(res.headers.get('content-security-policy')).toContain("default-src 'self'")
      expect(res.headers.get('x-content-type-options')).toBe('nosniff')
      expect(await res.text()).toContain('<svg id="graph"')
    }
    const js = await fetch(`${relay.url}/status/status.js`)
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect(await js.text()).toContain('/status.json')
    expect((await fetch(`${relay.url}/status/status.css`)).status).toBe(200)
    expect((await fetch(`${relay.url}/status/nope.js`)).status).toBe(404)
  })

  it('serves the chat directory at / and nothing outside it', async () => {
    const chatDir = tempDir()
    writeFileSync(path.join(chatDir, 'index.html'), '<!doctype html><title>chat</title>')
    writeFileSync(path.join(chatDir, 'chat.js'), 'export {}')
    writeFileSync(path.join(chatDir, '.secret.js'), 'secret')
    writeFileSync(path.join(path.dirname(chatDir), `${path.basename(chatDir)}-outside.js`), 'outside')
    const relay = await testRelay({ chatDir })
    const index = await fetch(`${relay.url}/`)
    expect(index.status).toBe(200)
    expect(await index.text()).toContain('<title>chat</title>')
    expect(index.headers.get('content-security-policy')).toContain("connect-src 'self' ws: wss:")
    const js = await fetch(`${relay.url}/chat.js`)
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect(await js.text()).toBe('export {}')
    const outside = `${path.basename(chatDir)}-outside.js`
    for (const bad of ['/.secret.js', `/..%2f${outside}`, `/../${outside}`, '/%2e%2e/etc/passwd', '/sub/chat.js', '/chat.js%00.html', '/index']) {
      const res = await fetch(`${relay.url}${bad}`)
      expect(res.status, bad).toBe(404)
      expect(await res.text(), bad).not.toMatch(/secret|outside/)
    }
  })

  it('says how to build the chat when its directory is missing, and links to the status page', async () => {
    const relay = await testRelay({ chatDir: path.join(tempDir(), 'not-built') })
    const res = await fetch(`${relay.url}/`)
    expect(res.status).toBe(404)
    const body = await res.text()
    expect(body).toContain('pnpm build')
    expect(body).toContain('href="/status"')
  })

  it('answers 503 until the node runs, and /healthz 503 once stopping', async () => {
    const node = createNode({ store: memoryStore() })
    await node.start()
    let phase: 'starting' | 'running' | 'stopping' = 'starting'
    const opts: RouteOptions = { node, started: { at: Date.now(), clock: node.clock.now() }, phase: () => phase, chatDir: tempDir(), publicDir: PUBLIC_DIR, logger: jsonLogger({ level: 'error', write: () => {} }) }
    const server = createServer(createRoutes(opts))
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      expect((await fetch(`${url}/healthz`)).status).toBe(503)
      expect((await fetch(`${url}/metrics`)).status).toBe(503)
      phase = 'running'
      expect((await fetch(`${url}/healthz`)).status).toBe(200)
      phase = 'stopping'
      const res = await fetch(`${url}/healthz`)
      expect(res.status).toBe(503)
      expect(await res.json()).toMatchObject({ status: 'stopping', id: node.id })
    } finally {
      server.closeAllConnections()
      await new Promise(resolve => server.close(resolve))
      await node.stop()
    }
  })

  it('closes the HTTP port when the relay stops', async () => {
    const relay = await testRelay()
    expect((await fetch(`${relay.url}/healthz`)).status).toBe(200)
    await relay.stop()
    await expect(fetch(`${relay.url}/healthz`)).rejects.toThrow()
  })
})

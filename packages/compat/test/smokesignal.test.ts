/**
 * @hearsay/compat/smokesignal in one process: options and bad input as smokesignal documents
 * them, localIp, a logger with any subset of levels, addPeer with its callback, peer sockets,
 * Peer#close, and broadcast writes made before start().
 */
import { afterEach, describe, expect, it } from 'vitest'
import smoke, { SmokeNode, UNBOUNDED_MAX_PEERS } from '../src/smokesignal/index.js'
import type { SmokePeer } from '../src/smokesignal/index.js'

const nodes: SmokeNode[] = []
afterEach(async () => {
  for (const n of nodes.splice(0)) { n.stop(); await new Promise(resolve => { setTimeout(resolve, 0) }) }
})

function node (options: Record<string, unknown> = {}): SmokeNode {
  const n = smoke.createNode({ port: 0, address: '127.0.0.1', ...options })
  nodes.push(n)
  return n
}

async function until (what: string, check: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

const portOf = (n: SmokeNode): number => Number(new URL(n.hearsay.addresses[0]!).port)

describe('smokesignal compat: createNode and localIp', () => {
  it('fills in smokesignal\'s defaults and knows its id at once', () => {
    const n = node()
    expect(n.options).toMatchObject({ minPeerNo: 3, maxPeerNo: 5, pingTimeout: 3000, seeds: [], logger: {} })
    expect(n.id).toMatch(/^[a-z2-7]{52}$/)
    expect(n.peers.list).toEqual([])
  })

  it('throws TypeError at the call for bad options', () => {
    expect(() => smoke.createNode(undefined)).toThrow(TypeError)
    expect(() => smoke.createNode({ port: 8495 })).toThrow(/address/)
    expect(() => smoke.createNode({ address: '' })).toThrow(/port/)
    expect(() => smoke.createNode({ address: '', port: 1, seeds: [{ port: '13', address: '' }] })).toThrow(/seed/)
    expect(() => smoke.createNode({ address: '', port: 1, minPeerNo: 6 })).toThrow(/maxPeerNo/)
    expect(() => smoke.createNode({ address: '', port: 1, logger: { info: 'yes' } })).toThrow(/logger.info/)
    expect(() => smoke.createNode({ address: '', port: 1, listen: [] })).toThrow(/unknown option "listen"/)
  })

  it('maxPeerNo Infinity becomes a bound, with one warning', async () => {
    const warnings: string[] = []
    const onWarning = (w: Error & { code?: string }): void => { if (w.code !== undefined) warnings.push(w.code) }
    process.on('warning', onWarning)
    try {
      expect(node({ maxPeerNo: Infinity }).options.maxPeerNo).toBe(UNBOUNDED_MAX_PEERS)
      node({ maxPeerNo: Infinity })
      await new Promise(resolve => { setTimeout(resolve, 20) })
    } finally { process.off('warning', onWarning) }
    expect(warnings.filter(c => c === 'HEARSAY_COMPAT_SMOKE_MAXPEERNO')).toHaveLength(1)
  })

  it('localIp finds this machine\'s address in a subnet', () => {
    expect(smoke.localIp('127.0.0.1/255.0.0.0')).toBe('127.0.0.1')
    expect(smoke.localIp('127.0.0.0/8')).toBe('127.0.0.1')
    expect(smoke.localIp('')).toMatch(/^\d+\.\d+\.\d+\.\d+$/)
    expect(() => smoke.localIp('203.0.113.0/24')).toThrow(/Couldn't determine IP address/)
    expect(() => smoke.localIp('not a subnet')).toThrow(TypeError)
    expect(() => smoke.localIp(42 as unknown as string)).toThrow(TypeError)
  })
})

describe('smokesignal compat: two nodes', () => {
  it('addPeer(address, port, callback), a logger with only info, peer sockets, broadcast written before start, Peer#close', async () => {
    const lines: string[] = []
    const a = node({ logger: { info: (msg: string) => { lines.push(msg) } } })
    const b = node()
    a.broadcast.write('written before start\n')
    a.start()
    b.start()
    await until('both listening', () => a.hearsay.status === 'running' && b.hearsay.status === 'running')
    const got: string[] = []
    b.broadcast.on('data', (d: Buffer) => { got.push(d.toString()) })
    const connected = new Promise(resolve => { b.once('connect', resolve) })
    expect(() => { a.addPeer('127.0.0.1', 0) }).toThrow(TypeError)
    const added = await new Promise<SmokePeer | undefined>((resolve, reject) => {
      a.addPeer('127.0.0.1', portOf(b), (err, peer) => { if (err !== null) reject(err); else resolve(peer) })
    })
    await connected
    expect(added?.id).toBe(b.id)
    expect(a.peers.inList(added!)).toBe(true)
    expect(added!.remoteAddress).toBe('127.0.0.1')
    expect(added!.remotePort).toBe(portOf(b))
    expect(lines).toContain(`Added new peer: ${b.id}`)
    await until('the early broadcast', () => got.join('') === 'written before start\n')

    const onB = b.peers.list.find(p => p.id === a.id)!
    const read: string[] = []
    onB.socket.on('data', (d: Buffer) => { read.push(d.toString()) })
    added!.socket.write('just for b')
    await until('the socket line', () => read.join('') === 'just for b')

    const closed = new Promise(resolve => { onB.once('close', resolve) })
    const removed = new Promise(resolve => { b.peers.once('remove', resolve) })
    const gone = new Promise(resolve => { b.once('disconnect', resolve) })
    added!.close()
    expect(await removed).toBe(onB)
    await closed
    await gone
    expect(b.peers.inList(a.id)).toBe(false)
  }, 30_000)
})

/**
 * Node has no `online` event: `networkChanges()` (the default `pageLifecycle` of `hearsay`'s
 * createNode in Node) reads the interfaces and re-checks every link when they change.
 */
import type { NetworkInterfaceInfo } from 'node:os'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { assert } from '@hearsay/core/compliance'
import { createNode, memoryStore, networkChanges } from '../src/main.node.js'
import type { HearsayNode } from '../src/main.node.js'
import { interfaceFingerprint, NETWORK_POLL_MS } from '../src/network-changes.node.js'

// os.networkInterfaces as the real one until a test sets `fake.ifaces` (the default's case)
const fake = vi.hoisted(() => ({ ifaces: undefined as NodeJS.Dict<NetworkInterfaceInfo[]> | undefined }))
vi.mock('node:os', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:os')>()
  const networkInterfaces = (): NodeJS.Dict<NetworkInterfaceInfo[]> => fake.ifaces ?? real.networkInterfaces()
  // the default export too, for modules that read `os.networkInterfaces` through it
  const dflt = (real as unknown as { default: typeof real }).default
  return { ...real, default: { ...dflt, networkInterfaces }, networkInterfaces }
})

type Ifaces = NodeJS.Dict<NetworkInterfaceInfo[]>
const v4 = (address: string, internal = false): NetworkInterfaceInfo => ({ address, netmask: '255.255.255.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal, cidr: `${address}/24` })
const lo = { lo: [v4('127.0.0.1', true)] }

/** A machine whose interfaces the test sets; `reads` counts the polls. */
function machine (initial: Ifaces): { set: (i: Ifaces) => void, read: () => Ifaces, reads: () => number, times: number[] } {
  let now = initial
  const times: number[] = []
  return { set: (i) => { now = i }, read: () => { times.push(performance.now()); return now }, reads: () => times.length, times }
}

const nodes: HearsayNode[] = []
afterEach(async () => { while (nodes.length > 0) await nodes.pop()!.stop() })

describe('networkChanges (Node interface changes)', () => {
  it('wakes the node when an address other than loopback comes, goes or changes, and not otherwise', async () => {
    const m = machine({ ...lo, eth0: [v4('192.168.1.2')] })
    const wakes: number[] = []
    const stop = networkChanges({ intervalMs: 5, interfaces: m.read })({ wake: () => { wakes.push(m.reads()) }, setPaused: () => {} }, () => {})
    try {
      // polls with nothing changed: no wake
      await assert.eventually(() => m.reads() >= 4, 5_000, 'four reads')
      expect(wakes).toEqual([])
      // loopback and order are not a change
      m.set({ eth0: [v4('192.168.1.2')], lo: [v4('127.0.0.1', true), v4('127.0.0.2', true)] })
      const after = m.reads()
      await assert.eventually(() => m.reads() >= after + 3, 5_000, 'three more reads')
      expect(wakes).toEqual([])
      // a new lease: one wake
      m.set({ ...lo, eth0: [v4('192.168.1.7')] })
      await assert.eventually(() => wakes.length === 1, 5_000, 'a wake after the address changed')
      // Wi-Fi added, then gone: one wake each
      m.set({ ...lo, eth0: [v4('192.168.1.7')], wlan0: [v4('10.0.0.5')] })
      await assert.eventually(() => wakes.length === 2, 5_000, 'a wake after an interface came')
      m.set({ ...lo, eth0: [v4('192.168.1.7')] })
      await assert.eventually(() => wakes.length === 3, 5_000, 'a wake after an interface went')
    } finally {
      stop?.()
    }
    // stopped: no more reads
    const reads = m.reads()
    m.set({ ...lo })
    await new Promise(resolve => setTimeout(resolve, 30))
    expect(m.reads()).toBe(reads)
    expect(wakes).toHaveLength(3)
  })

  it('nodes of one process share one poll: one read per interval, every node woken, the last to stop ends it', async () => {
    const m = machine({ ...lo, eth0: [v4('192.168.1.2')] })
    const woken: string[] = []
    const hooks = (name: string): Parameters<ReturnType<typeof networkChanges>>[0] => ({ wake: () => { woken.push(name) }, setPaused: () => {} })
    const stopA = networkChanges({ intervalMs: 20, interfaces: m.read })(hooks('a'), () => {})
    const stopB = networkChanges({ intervalMs: 20, interfaces: m.read })(hooks('b'), () => {})
    const start = m.reads()
    await assert.eventually(() => m.reads() >= start + 5, 5_000, 'five more reads')
    // two nodes, one poll: the reads are an interval apart, not two a tick
    const ticks = m.times.slice(start)
    for (let i = 1; i < ticks.length; i++) expect(ticks[i]! - ticks[i - 1]!).toBeGreaterThan(10)
    m.set({ ...lo, eth0: [v4('192.168.1.3')] })
    await assert.eventually(() => woken.length === 2, 5_000, 'both nodes woken')
    expect(woken.sort()).toEqual(['a', 'b'])
    stopA?.()
    m.set({ ...lo, eth0: [v4('192.168.1.4')] })
    await assert.eventually(() => woken.length === 3, 5_000, 'the other node woken')
    expect(woken[2]).toBe('b')
    stopB?.()
    const reads = m.reads()
    await new Promise(resolve => setTimeout(resolve, 60))
    expect(m.reads()).toBe(reads)
  })

  it('a machine whose interfaces cannot be read runs on without the check', async () => {
    let reads = 0
    const wakes: number[] = []
    const stop = networkChanges({ intervalMs: 5, interfaces: () => { reads++; throw new Error('uv_interface_addresses returned Unknown system error 1') } })({ wake: () => { wakes.push(1) }, setPaused: () => {} }, () => {})
    await assert.eventually(() => reads >= 3, 5_000, 'three reads')
    stop?.()
    expect(wakes).toEqual([])
    expect(() => networkChanges({ intervalMs: 0 })).toThrow(TypeError)
  })

  it('the fingerprint ignores loopback and order', () => {
    expect(interfaceFingerprint({ a: [v4('10.0.0.1')], b: [v4('10.0.0.2')], ...lo })).toBe(interfaceFingerprint({ b: [v4('10.0.0.2')], a: [v4('10.0.0.1')] }))
    expect(interfaceFingerprint({ a: [v4('10.0.0.1')] })).not.toBe(interfaceFingerprint({ a: [v4('10.0.0.3')] }))
  })

  it('a node re-checks its links when the interfaces change (membership.wakes), and stops reading when it stops', async () => {
    const seed = createNode({ store: memoryStore(), webrtc: false, listen: ['ws://127.0.0.1:0'] })
    nodes.push(seed)
    await seed.start()
    const m = machine({ ...lo, eth0: [v4('192.168.1.2')] })
    const n = createNode({ store: memoryStore(), webrtc: false, seeds: seed.addresses, pageLifecycle: networkChanges({ intervalMs: 10, interfaces: m.read }) })
    nodes.push(n)
    await n.start()
    await assert.eventually(() => n.peers().length === 1, 5_000, 'the node joined through the seed')
    const wakes = n.metrics.get('membership.wakes')
    m.set({ ...lo, eth0: [v4('192.168.1.9')] })
    await assert.eventually(() => n.metrics.get('membership.wakes') === wakes + 1, 5_000, 'a re-check after the interface change')
    await n.stop()
    const reads = m.reads()
    await new Promise(resolve => setTimeout(resolve, 50))
    expect(m.reads()).toBe(reads)
  })
})

describe('createNode of hearsay in Node', () => {
  it('follows interface changes by default (os.networkInterfaces, every 3 s)', async () => {
    const n = createNode({ store: memoryStore(), webrtc: false, listen: ['ws://127.0.0.1:0'] })
    nodes.push(n)
    await n.start()
    const wakes = n.metrics.get('membership.wakes')
    fake.ifaces = { ...lo, eth0: [v4('192.168.77.3')] }
    try {
      await assert.eventually(() => n.metrics.get('membership.wakes') === wakes + 1, 3 * NETWORK_POLL_MS, 'a re-check after os.networkInterfaces() changed')
    } finally {
      fake.ifaces = undefined
    }
  }, 15_000)
})

import { afterEach, describe, expect, it } from 'vitest'
import { overlayConnected } from '../src/testing/compliance/overlay.js'
import { createNode, createTestnet, generateIdentity, MemoryNetwork, plainChannel } from '../src/index.js'
import type { BanEvent, Connection, HearsayNode, NodeEvents, NodeOptions, Testnet } from '../src/index.js'
import { eventually, within } from '../src/testing/compliance/assert.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => { while (cleanups.length > 0) await cleanups.pop()!() })

async function testnet (n: number, opts: Parameters<typeof createTestnet>[1]): Promise<Testnet> {
  const t = await createTestnet(n, opts)
  cleanups.push(t.stop)
  return t
}

function next<K extends keyof NodeEvents> (node: HearsayNode, event: K): Promise<NodeEvents[K]> {
  return within(new Promise<NodeEvents[K]>(resolve => { node.once(event, resolve) }), 5000, `${String(event)} event`)
}

/** Records close of a raw connection the test dialled; `closed` resolves on it. */
function watch (conn: Connection): Promise<void> {
  return within(new Promise<void>(resolve => { conn.setHandlers({ onMessage: () => {}, onClose: () => { resolve() } }) }), 5000, 'raw connection closed')
}

const yieldToIo = async (): Promise<void> => { await new Promise(resolve => setImmediate(resolve)) }

const fast: NodeOptions = { shuffleInterval: 200, heartbeatInterval: 50, rejoinDelay: 50, rejoinMaxDelay: 400, healInterval: 300 }


describe('abuse limits on the memory testnet', () => {
  it('one spamming peer among ten is throttled, then cut off and banned by id by every peer it floods; the other nine get 100 % of each other\'s broadcasts', async () => {
    // the rate limit scaled down (the default, 1M frames/s, sits above a saturated link) so that
    // the test floods in milliseconds; the honest traffic below stays far under it
    // 1,000 (not 2,000): on a loaded 2-core machine the spammer's own loop reached only ~2,000
    // frames/s per victim, so a victim sometimes never saw a full second over the rate
    // peerThrottleMs scaled down too: a flood is cut off after 300 ms over the rate, not 10 s
    const abuse = { peerFramesPerSecond: 1000, peerThrottleMs: 300 }
    const t = await testnet(10, {
      topology: 'none',
      // the spam loop shares this process's event loop with every node: a failure detector on
      // 50 ms heartbeats took a victim's link as dead (and closed it, unbanned) in the pauses,
      // and on 250 ms ones a loaded CI run lost honest links in them (a broadcast made across
      // the cut is not repaired: the default period and a higher threshold, as nothing here
      // tests the detector)
      node: (i) => ({ ...fast, heartbeatInterval: 1000, phiThreshold: 12, minPeers: 3, maxPeers: 5, seeds: i === 0 ? [] : ['memory:node-0'], abuse })
    })
    const spammer = t.nodes[9]!
    // its overlay neighbours that hold it as theirs: other links (a dial in progress, a shuffle
    // reply) may close by themselves before the flood has lasted a second
    const mutual = (): string[] => spammer.overlay!.active.filter(id => t.nodes.find(n => n.id === id)!.overlay!.active.includes(spammer.id))
    // waits on the overlay, not on a clock: a loaded machine takes longer to settle it
    await eventually(() => overlayConnected(t.nodes) && t.nodes.every(n => n.overlay!.active.length >= 3) && mutual().length >= 2, 60_000, 'overlay')
    const honest = t.nodes.slice(0, 9)
    const bans: Array<BanEvent & { by: string }> = []
    for (const n of t.nodes) n.on('peer:ban', (e) => { bans.push({ ...e, by: n.id }) })
    const got = new Map(honest.map(n => [n.id, new Set<string>()]))
    for (const n of honest) n.route('news', (msg) => { if (msg.origin !== n.id) got.get(n.id)!.add(String(msg.data)) })

    const victims = mutual()
    expect(victims.length).toBeGreaterThanOrEqual(2)
    const junk = new Uint8Array(100)
    const spam = (async () => {
      // flood every neighbour until none of the first ones keeps a link to the spammer
      for (let round = 0; round < 1000 && victims.some(v => spammer.getPeer(v) !== undefined); round++) {
        for (const p of spammer.peers()) for (let i = 0; i < 200; i++) { try { p.send('spam', junk) } catch { break } }
        await yieldToIo()
      }
    })()
    const rounds = 20
    for (let i = 0; i < rounds; i++) {
      for (const n of honest) n.broadcast('news', `${n.id}:${i}`)
      await yieldToIo()
    }
    await within(spam, 60_000, 'spam loop')
    const missing = (): string => honest.map(n => `${n.id.slice(0, 6)} ${String(got.get(n.id)!.size)}/${String(8 * rounds)}`).join(', ')
    await eventually(() => honest.every(n => got.get(n.id)!.size === 8 * rounds), 60_000, 'every honest broadcast delivered to every honest node')
      .catch((err: unknown) => { throw new Error(`${String(err)} (received: ${missing()}; links: ${honest.map(n => String(n.peers().length)).join(' ')})`) })

    // A victim bans the spammer once it has been over its fair share for peerThrottleMs. The
    // overlay may close a link sooner (a full active view refuses the spammer, which lost its
    // other neighbours to their bans and dials around): such a victim was not flooded for that
    // long (the spam loop above ran until no victim held a link to it). Most bans is the promise.
    const banned = victims.filter(v => bans.some(b => b.by === v && b.id === spammer.id && b.reason === 'rate-limit'))
    expect(banned.length).toBeGreaterThanOrEqual(Math.ceil(victims.length / 2))
    for (const v of banned) expect(t.nodes.find(n => n.id === v)!.metrics.get('drops.rate-limit')).toBeGreaterThanOrEqual(1)
    // no honest peer was mistaken for a flood, and no address was banned for what a peer did
    expect(bans.every(b => b.id === spammer.id && b.address === undefined)).toBe(true)
    for (const n of honest) expect(n.metrics.get('bans.invalid-frame') + n.metrics.get('bans.handshake')).toBe(0)
    // a victim refuses the spammer at accept and at dial for the ban's length
    const victim = t.nodes.find(n => n.id === banned[0])!
    await expect(victim.dial('memory:node-9')).rejects.toMatchObject({ code: 'ERR_BANNED', reason: 'rate-limit' })
    expect(victim.metrics.get('refused.banned')).toBeGreaterThanOrEqual(1)
  }, 180_000)

  it('a peer that keeps sending garbage frames is banned by id (not by address: others behind it are let in), and refused after its handshake and at dial', async () => {
    const identity = generateIdentity()
    const network = new MemoryNetwork()
    const options = (): NodeOptions => ({ channel: plainChannel(), overlay: false, abuse: { maxInvalidFrames: 3 } })
    const t = await testnet(2, { network, topology: 'none', node: (i) => ({ ...options(), ...(i === 1 ? { identity } : {}) }) })
    const [hub, bad] = t.nodes as [HearsayNode, HearsayNode]
    const banned = next(hub, 'peer:ban')
    for (let i = 0; i < 3; i++) {
      const peer = await bad.dial('memory:node-0')
      const gone = next(hub, 'peer:disconnect')
      peer.link.conn.send(new Uint8Array([0xc1, 0xc1, 0xc1, 0xc1]))
      const { reason } = await gone
      // the first two close the link (as one invalid frame always did); the third also bans
      expect((reason as { code?: string } | undefined)?.code).toBe(i < 2 ? 'ERR_INVALID_FRAME' : 'ERR_BANNED')
      await eventually(() => bad.peers().length === 0, 5000, 'link closed on both ends')
    }
    expect(await banned).toEqual({ id: bad.id, reason: 'invalid-frame', ms: 600_000 })
    expect(hub.metrics.get('drops.invalid-frame')).toBe(3)
    expect(hub.metrics.get('bans.invalid-frame')).toBe(1)

    // refused once it proves its id
    const badGone = next(bad, 'peer:disconnect')
    await bad.dial('memory:node-0').catch(() => undefined)
    expect((await badGone).peer.link.byeReason).toBe('banned')
    expect(hub.metrics.get('refused.banned')).toBe(1)
    // the same identity from another address: cut off once it proves its id (its own handshake
    // completes first, so it sees a link that closes at once with hs.bye 'banned')
    const twin = createNode({ identity, channel: plainChannel(), overlay: false, transports: [network.transport('elsewhere')], listen: ['memory:elsewhere'] })
    cleanups.push(async () => { await twin.stop() })
    await twin.start()
    const twinGone = next(twin, 'peer:disconnect')
    await twin.dial('memory:node-0').catch(() => undefined)
    expect((await twinGone).peer.link.byeReason).toBe('banned')
    expect(hub.metrics.get('refused.banned')).toBe(2)
    expect(hub.peers()).toHaveLength(0)
    // and the hub does not link to it when it dials either (the id is checked after the handshake)
    await expect(hub.dial('memory:node-1')).rejects.toMatchObject({ code: 'ERR_BANNED', reason: 'invalid-frame' })
    await expect(hub.dial('memory:elsewhere')).rejects.toMatchObject({ code: 'ERR_BANNED' })
    expect(hub.metrics.get('refused.banned')).toBe(4)
    // an honest peer from another address is not affected, nor one behind the same address
    // (issue 18: a ban by address locked out everyone behind a NAT)
    const honest = createNode({ channel: plainChannel(), overlay: false, transports: [network.transport('honest')] })
    cleanups.push(async () => { await honest.stop() })
    await honest.start()
    expect((await honest.dial('memory:node-0')).id).toBe(hub.id)
    const neighbour = createNode({ channel: plainChannel(), overlay: false, transports: [network.transport('node-1')] })
    cleanups.push(async () => { await neighbour.stop() })
    await neighbour.start()
    expect((await neighbour.dial('memory:node-0')).id).toBe(hub.id)
  })

  it('an address that keeps failing the secure handshake with garbage is penalised (one handshake at a time, addressBanMs); timeouts are not offences', async () => {
    const network = new MemoryNetwork()
    const t = await testnet(1, { network, node: () => ({ overlay: false, abuse: { maxHandshakeFailures: 3 } }) })
    const hub = t.nodes[0]!
    const bans: BanEvent[] = []
    hub.on('peer:ban', (e) => { bans.push(e) })
    const probe = network.transport('probe')
    for (let i = 0; i < 3; i++) {
      const raw = await probe.dial('memory:node-0')
      const closed = watch(raw)
      raw.send(new Uint8Array(64).fill(i + 1)) // a hello with a wrong MAC
      await closed
      await eventually(() => hub.metrics.get('handshake.failures') === i + 1, 5000, 'failure counted')
    }
    expect(bans).toEqual([{ address: 'memory:probe', reason: 'handshake', ms: 60_000 }])
    expect(hub.metrics.get('bans.handshake')).toBe(1)
    // one handshake at a time from the address: a second one while it is open is refused
    const held = await probe.dial('memory:node-0')
    const heldClosed = watch(held)
    const raw = await probe.dial('memory:node-0')
    await watch(raw)
    expect(hub.metrics.get('refused.banned')).toBe(1)
    held.close()
    await heldClosed
    await eventually(() => hub.metrics.get('handshake.failures') === 4, 5000, 'the held one ended (a close: no offence)')
    // an honest peer behind the same address completes its handshake and is in
    const honest = createNode({ overlay: false, transports: [network.transport('probe')] })
    cleanups.push(async () => { await honest.stop() })
    await honest.start()
    expect((await honest.dial('memory:node-0')).id).toBe(hub.id)
    expect(hub.metrics.get('bans.handshake')).toBe(1)
  })

  it('caps handshakes in progress: a newcomer cuts the oldest half-open one; a handshake that never finishes is cut at handshakeTimeout', async () => {
    const network = new MemoryNetwork()
    const t = await testnet(2, { network, topology: 'none', node: (i) => ({ overlay: false, abuse: { maxPendingHandshakes: 2 }, handshakeTimeout: i === 0 ? 400 : 10_000 }) })
    const [hub, honest] = t.nodes as [HearsayNode, HearsayNode]
    const probe = network.transport('probe')
    // two connections that never say hello hold both slots
    const stuck = [await probe.dial('memory:node-0'), await probe.dial('memory:node-0')]
    const stuckClosed = stuck.map(watch)
    // issue 18: half-open connections holding every slot refused every honest join. Now a
    // newcomer cuts the oldest one in progress
    expect((await honest.dial('memory:node-0')).id).toBe(hub.id)
    await stuckClosed[0]
    expect(hub.metrics.get('refused.handshake-evicted')).toBe(1)
    expect(hub.metrics.get('refused.handshakes')).toBe(0)
    // the hub gives up on the other at handshakeTimeout
    await stuckClosed[1]
    await eventually(() => hub.metrics.get('handshake.failures') === 2, 5000, 'the cut and the timed-out handshake counted')
    // timeouts are not offences: nobody was banned
    expect(hub.metrics.get('bans.handshake')).toBe(0)
  })

  it('a JOIN storm is bounded: duplicates dropped and counted, forwarding does not grow with it, and a flood over the rate is banned', async () => {
    const t = await testnet(6, {
      topology: 'none',
      node: (i) => ({ channel: plainChannel(), ...fast, minPeers: 2, maxPeers: 4, seeds: i === 0 ? [] : ['memory:node-0'], abuse: { peerFramesPerSecond: 3000, peerThrottleMs: 0 } })
    })
    await eventually(() => overlayConnected(t.nodes) && t.nodes.every(n => n.overlay!.active.length >= 2), 20_000, 'overlay')
    const storm = t.nodes[5]!
    const target = storm.peers()[0]!
    const hub = t.nodes.find(n => n.id === target.id)!
    expect(hub.overlay!.active).toContain(storm.id)
    const dupBefore = hub.overlay!.drops.duplicate ?? 0
    const outBefore = hub.metrics.get('frames.out')
    // 1,000 JOINs on one link, under the rate: each is a duplicate of the live membership
    for (let i = 0; i < 1000; i++) storm.sendProtocol(target, 'hv.join', { addrs: ['memory:node-5'] })
    await eventually(() => (hub.overlay!.drops.duplicate ?? 0) - dupBefore === 1000, 5000, 'duplicates counted')
    // no FORWARD_JOIN per duplicate: the hub sent only its usual traffic (heartbeats, shuffles)
    expect(hub.metrics.get('frames.out') - outBefore).toBeLessThan(200)
    expect(hub.overlay!.active.length).toBeLessThanOrEqual(4)
    // a storm over the frame rate gets the stormer cut off and banned
    const banned = next(hub, 'peer:ban')
    for (let i = 0; i < 5000 && storm.getPeer(hub.id) !== undefined; i++) storm.sendProtocol(target, 'hv.join', { addrs: ['memory:node-5'] })
    expect(await banned).toMatchObject({ id: storm.id, reason: 'rate-limit' })
    await eventually(() => !hub.overlay!.active.includes(storm.id), 5000, 'stormer out of the active view')
    expect(hub.metrics.get('drops.rate-limit')).toBe(1)
  })
})

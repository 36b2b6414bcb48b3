import { describe, expect, it } from 'vitest'
import { BroadcastDriver } from '../../src/overlay/broadcast-driver.js'
import type { Broadcaster, BroadcastResult, Delivery } from '../../src/overlay/broadcast.js'
import type { OverlayContext } from '../../src/overlay/context.js'
import { Peer } from '../../src/link/peer.js'
import { Metrics } from '../../src/util/metrics.js'

const A = 'a'.repeat(64)
const B = 'b'.repeat(64)

function driver (listed: Peer[]): { run: BroadcastDriver['run'], delivered: Array<{ d: Delivery, via: Peer | undefined }>, metrics: Metrics } {
  const metrics = new Metrics()
  const ctx = {
    metrics,
    getPeer: (id: string) => listed.find(p => p.id === id),
    send: () => {},
    clock: { now: () => 0 },
    timers: { after: () => () => {} }
  } as unknown as OverlayContext
  const broadcaster = { drops: {} } as unknown as Broadcaster<{ t: string }>
  const delivered: Array<{ d: Delivery, via: Peer | undefined }> = []
  const d = new BroadcastDriver(ctx, broadcaster, { prefix: '', dropPrefix: 'broadcast-', noLinkDrop: 'broadcast-no-link', onDeliver: (d, via) => { delivered.push({ d, via }) } })
  return { run: (r, via) => { d.run(r, via) }, delivered, metrics }
}

const peer = (id: string): Peer => new Peer(id, { linkId: '1', rank: '1', conn: {} as never, address: 'memory:x', direction: 'inbound' }, 0, () => {})

describe('BroadcastDriver', () => {
  it('hands a delivery the peer whose frame carried it, even when the node no longer lists that peer (a link being replaced)', () => {
    const { run, delivered } = driver([])
    const from = peer(A)
    const r: BroadcastResult<{ t: string }> = { actions: [], deliver: { id: 'm1', payload: 1, hops: 1, from: A } }
    run(r, from)
    expect(delivered).toHaveLength(1)
    expect(delivered[0]!.via).toBe(from)
  })

  it('does not name a frame\'s peer as the sender of a delivery it did not carry', () => {
    const { run, delivered } = driver([])
    run({ actions: [], deliver: { id: 'm2', payload: 1, hops: 2, from: B } }, peer(A))
    expect(delivered[0]!.via).toBeUndefined()
  })

  it('counts an action for a peer without a link', () => {
    const { run, metrics } = driver([])
    run({ actions: [{ to: B, msg: { t: 'pt.gossip' } }] } as unknown as BroadcastResult<{ t: string }>)
    expect(metrics.get('drops.broadcast-no-link')).toBe(1)
  })
})

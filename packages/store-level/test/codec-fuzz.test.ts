/**
 * The store's value decoder against corrupt disks: mutated rows, tombstones and raw values
 * decode to a well-formed value or to `Corrupt`, never throw. `pnpm fuzz` runs 1M inputs per
 * target (FUZZ_RUNS), CI the default of core's fuzz support.
 */
import { describe, expect, it } from 'vitest'
import { seededRandom } from '@hearsay/core'
import { Corrupt, decodeBytes, decodeRow, decodeTombstone, encodeBytes, encodeRow, encodeTombstone } from '../src/codec.js'
import { check, mutate, report, RUNS, SEED, yieldToLoop } from '../../core/test/fuzz/support.js'

const isCount = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0

describe(`fuzz: stored values (${RUNS} inputs per target, seed ${SEED})`, () => {
  it('rows, tombstones and raw values: a well-formed value or Corrupt, never a throw', async () => {
    const r = seededRandom(SEED + 100)
    const rows = [
      encodeRow({ peerId: 'a'.repeat(52), stats: { connections: { ok: 3, fail: 1 }, nodes: { rx: 10, tx: 2 }, lastSeen: 1767225600000, rtt: 12.5 } }),
      encodeRow({ peerId: null, stats: { connections: { ok: 0, fail: 0 }, nodes: { rx: 0, tx: 0 }, lastSeen: null, rtt: null } })
    ]
    const tombstone = encodeTombstone(1767225600000)
    const identity = encodeBytes(new Uint8Array(64).fill(9))
    const tally = { rows: 0, tombstones: 0, bytes: 0, corrupt: 0 }
    const t0 = performance.now()
    for (let i = 0; i < RUNS; i++) {
      if (i % 10_000 === 9_999) await yieldToLoop()
      const kind = i % 4
      if (kind < 2) {
        const out = decodeRow(mutate(r, rows[kind]!, { lengthChangeRate: 0.4 }))
        if (out instanceof Corrupt) { tally.corrupt++; continue }
        tally.rows++
        const s = out.stats
        check(out.peerId === null || (typeof out.peerId === 'string' && out.peerId.length > 0), `row ${i}: bad peer id`)
        check([s.connections.ok, s.connections.fail, s.nodes.rx, s.nodes.tx].every(isCount), `row ${i}: bad counters`)
      } else if (kind === 2) {
        const out = decodeTombstone(mutate(r, tombstone, { lengthChangeRate: 0.4 }))
        if (out instanceof Corrupt) { tally.corrupt++; continue }
        tally.tombstones++
        check(Number.isFinite(out), `tombstone ${i}: not a time`)
      } else {
        const out = decodeBytes(mutate(r, identity, { lengthChangeRate: 0.4 }), 64)
        if (out instanceof Corrupt) { tally.corrupt++; continue }
        tally.bytes++
        check(out.length === 64 && out.constructor === Uint8Array, `bytes ${i}: wrong length or a Buffer`)
      }
    }
    report('stored values (store-level codec)', RUNS, performance.now() - t0, tally)
    // both outcomes were exercised
    expect(tally.corrupt).toBeGreaterThan(0)
    expect(tally.rows + tally.tombstones + tally.bytes).toBeGreaterThan(0)
    // and things that are not bytes at all
    for (const v of [undefined, null, 'text', 42, {}, [], new Uint8Array(0)]) {
      expect(decodeRow(v)).toBeInstanceOf(Corrupt)
      expect(decodeTombstone(v)).toBeInstanceOf(Corrupt)
      expect(decodeBytes(v)).toBeInstanceOf(Corrupt)
    }
  }, 60_000 + RUNS / 10)
})

/**
 * telepathine's own programs (examples/seeds/telepathine-*.mjs, changed only in the import
 * line) on @hearsay/compat/telepathine, over TCP on this machine, checked against what
 * telepathine's README promises.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { SeedProcess, ensureBuilt, freeRun } from './seed-process.js'

const ID = '[a-z2-7]{52}'
let running: SeedProcess[] = []

beforeAll(() => { ensureBuilt(['telepathine']) }, 180_000)
afterEach(() => {
  for (const p of running) p.kill()
  running = []
})

/** Every line matching `re`, its groups. */
const all = (out: string, re: RegExp): RegExpExecArray[] => [...out.matchAll(new RegExp(re.source, 'gm'))]

describe('telepathine example_events.js (distributed event bus)', () => {
  it('b says eventname in on(\'start\'); a hears it once through hearOnce and through hear(\'*\') with this.event', async () => {
    const base = await freeRun(2)
    const p = new SeedProcess('example_events', 'telepathine-example_events.mjs', { START_PORT: String(base) })
    running.push(p)
    await p.until('both handlers', out => out.includes('a received eventname=') && out.includes('a received  say:eventname ='))
    const once = all(p.stdout, new RegExp(`^a received eventname= eventdata from (${ID})$`))
    const wildcard = all(p.stdout, new RegExp(`^a received  say:eventname = eventdata from (${ID})$`))
    expect(once).toHaveLength(1)
    expect(wildcard).toHaveLength(1)
    expect(wildcard[0]![1]).toBe(once[0]![1]) // fromPeer: b
    expect(p.stdout).not.toContain('b received') // nobody says 'reply', and a peer does not hear its own events
    const r = await p.finish()
    expect({ ...r, stderr: p.stderr }).toEqual({ code: 0, signal: null, stderr: '' })
  }, 60_000)
})

describe('telepathine example_p2p.js (distributed shared memory)', () => {
  // The README's promise for the temporary key is that it "will start to expire in the gossip
  // net" 10 s after it was set. A peer whose first news of the writer comes later than that (the
  // README's peers form a chain of seeds; gossip runs every 2.5 s; a loaded CI machine) never
  // learns it, as in telepathine: an expired key is not gossiped. So: all four learn `somekey`;
  // every peer that learned `somekey2` sees it expire; at least the writer's own seed learns it.
  it('4 peers learn somekey through on(\'set\'), know(\'somekey\') and know(\'*\'); every peer that learned the 10 s key sees it expire (key:expired)', async () => {
    const base = await freeRun(6)
    const p = new SeedProcess('example_p2p', 'telepathine-example_p2p.mjs', { START_PORT: String(base) })
    running.push(p)
    const rows = (out: string): Record<'onSet' | 'knowKey' | 'knowAny' | 'expired', RegExpExecArray[]> => ({
      onSet: all(out, new RegExp(`^(${ID}) knows via on\\('set'\\.\\. that peer (${ID}) set (somekey2?)=somevalue$`)),
      knowKey: all(out, new RegExp(`^(${ID}) knows via know\\('somekey'\\.\\. that peer (${ID}) set somekey=somevalue$`)),
      knowAny: all(out, new RegExp(`^(${ID}) knows via know\\('\\*'\\.\\. that peer (${ID}) set set:(somekey2?),(somekey2?)=somevalue$`)),
      expired: all(out, new RegExp(`^(${ID}) knows via on\\('key:expired'\\.\\. that peer (${ID})'s somekey2=somevalue expired$`))
    })
    const learners = (list: RegExpExecArray[], key?: string): string[] => [...new Set(list.filter(r => key === undefined || r[3] === key).map(r => r[1]!))].sort()
    // Settled: four know somekey through all three handlers, someone saw somekey2 expire, and
    // every learner of it did. Each handler prints its own line, and a pipe may hand them over in
    // separate chunks, so the wait covers every row the assertions below read.
    await p.until('all knowledge and the expiries', (out) => {
      const r = rows(out)
      const temp = learners(r.onSet, 'somekey2').join()
      return [learners(r.onSet, 'somekey'), learners(r.knowKey), learners(r.knowAny, 'somekey')].every(l => l.length === 4) &&
        temp !== '' && learners(r.knowAny, 'somekey2').join() === temp && learners(r.expired).join() === temp
    }, 40_000)
    const { onSet, knowKey, knowAny, expired } = rows(p.stdout)
    const writer = onSet[0]![2]
    const four = learners(onSet, 'somekey')
    expect(four).toHaveLength(4)
    expect(learners(knowKey)).toEqual(four)
    expect(learners(knowAny, 'somekey')).toEqual(four)
    const temp = learners(onSet, 'somekey2')
    expect(temp.length).toBeGreaterThan(0)
    expect(temp.every(id => four.includes(id))).toBe(true)
    expect(learners(knowAny, 'somekey2')).toEqual(temp)
    expect(learners(expired)).toEqual(temp)
    // one writer, never one of the four; each change reported once per peer
    for (const list of [onSet, knowKey, knowAny, expired]) for (const r of list) expect(r[2]).toBe(writer)
    expect(four).not.toContain(writer)
    expect(onSet).toHaveLength(4 + temp.length)
    expect(knowKey).toHaveLength(4)
    expect(knowAny).toHaveLength(4 + temp.length)
    expect(knowAny.every(r => r[3] === r[4])).toBe(true) // this.event is set:<key>
    expect(expired).toHaveLength(temp.length)
    const r = await p.finish()
    expect({ ...r, stderr: p.stderr }).toEqual({ code: 0, signal: null, stderr: '' })
  }, 60_000)
})

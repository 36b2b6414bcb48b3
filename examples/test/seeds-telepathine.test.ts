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
  it('4 peers learn both keys through on(\'set\'), know(\'somekey\') and know(\'*\'), and the 10 s key expires everywhere (key:expired)', async () => {
    const base = await freeRun(6)
    const p = new SeedProcess('example_p2p', 'telepathine-example_p2p.mjs', { START_PORT: String(base) })
    running.push(p)
    const expiredLines = (out: string): number => all(out, /knows via on\('key:expired'/).length
    await p.until('all knowledge and the expiry', out => expiredLines(out) >= 4, 40_000)
    const out = p.stdout
    const onSet = all(out, new RegExp(`^(${ID}) knows via on\\('set'\\.\\. that peer (${ID}) set (somekey2?)=somevalue$`))
    const knowKey = all(out, new RegExp(`^(${ID}) knows via know\\('somekey'\\.\\. that peer (${ID}) set somekey=somevalue$`))
    const knowAny = all(out, new RegExp(`^(${ID}) knows via know\\('\\*'\\.\\. that peer (${ID}) set set:(somekey2?),(somekey2?)=somevalue$`))
    const expired = all(out, new RegExp(`^(${ID}) knows via on\\('key:expired'\\.\\. that peer (${ID})'s somekey2=somevalue expired$`))
    const writer = onSet[0]![2]
    const learners = (rows: RegExpExecArray[], key?: string): string[] => [...new Set(rows.filter(r => key === undefined || r[3] === key).map(r => r[1]!))].sort()
    const four = learners(onSet, 'somekey')
    expect(four).toHaveLength(4)
    expect(learners(onSet, 'somekey2')).toEqual(four)
    expect(learners(knowKey)).toEqual(four)
    expect(learners(knowAny, 'somekey')).toEqual(four)
    expect(learners(knowAny, 'somekey2')).toEqual(four)
    expect(learners(expired)).toEqual(four)
    // one writer, never one of the four; each change reported once per peer
    for (const rows of [onSet, knowKey, knowAny, expired]) for (const r of rows) expect(r[2]).toBe(writer)
    expect(four).not.toContain(writer)
    expect(onSet).toHaveLength(8)
    expect(knowKey).toHaveLength(4)
    expect(knowAny).toHaveLength(8)
    expect(knowAny.every(r => r[3] === r[4])).toBe(true) // this.event is set:<key>
    expect(expired).toHaveLength(4)
    const r = await p.finish()
    expect({ ...r, stderr: p.stderr }).toEqual({ code: 0, signal: null, stderr: '' })
  }, 60_000)
})

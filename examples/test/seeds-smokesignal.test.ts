/**
 * smokesignal's own programs (examples/seeds/smokesignal-*.mjs, changed only in the import
 * line) on @hearsay/compat/smokesignal, each node its own process over TCP on this machine,
 * checked against what smokesignal's README promises.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { SeedProcess, ensureBuilt, freePorts } from './seed-process.js'

const GREETING = 'HEYO! I\'m here'
let running: SeedProcess[] = []
const start = (name: string, program: string, env: Record<string, string>): SeedProcess => {
  const p = new SeedProcess(name, program, env)
  running.push(p)
  return p
}

beforeAll(() => { ensureBuilt(['smokesignal']) }, 180_000)
afterEach(() => {
  for (const p of running) p.kill()
  running = []
})

/** Ends every process's bounded run; each must exit 0 by itself (stop() left nothing running) and print no warning or error. */
async function finishAll (...ps: SeedProcess[]): Promise<void> {
  const results = await Promise.all(ps.map(async p => ({ p, r: await p.finish() })))
  for (const { p, r } of results) {
    expect({ name: p.name, ...r, stderr: p.stderr }).toEqual({ name: p.name, code: 0, signal: null, stderr: '' })
  }
}

describe('smokesignal README program', () => {
  it('every node connected when a node writes its greeting in on(\'connect\') gets it, and node.broadcast is a duplex both ways', async () => {
    const [pa, pb, pc] = (await freePorts(3)).map(String) as [string, string, string]
    // a and b seed each other (one of them is up first: the other's seed dial is retried)
    const a = start('a', 'smokesignal-readme.mjs', { PORT: pa, SEED_PORT: pb })
    const b = start('b', 'smokesignal-readme.mjs', { PORT: pb, SEED_PORT: pa })
    await a.until('b\'s greeting', out => out.includes(GREETING))
    await b.until('a\'s greeting', out => out.includes(GREETING))
    // c joins the running network through a: its greeting, written on its own connect, reaches both
    const c = start('c', 'smokesignal-readme.mjs', { PORT: pc, SEED_PORT: pa })
    await a.until('c\'s greeting', out => out.split(GREETING).length - 1 === 2)
    await b.until('c\'s greeting', out => out.split(GREETING).length - 1 === 2)
    // what one writes (stdin piped into node.broadcast) everyone else reads; never oneself
    c.child.stdin.write('hello from c\n')
    a.child.stdin.write('hello from a\n')
    await a.until('c\'s line', out => out.includes('hello from c\n'))
    await b.until('both lines', out => out.includes('hello from c\n') && out.includes('hello from a\n'))
    await c.until('a\'s line', out => out.includes('hello from a\n'))
    expect(a.count('hello from a')).toBe(0)
    expect(c.count('hello from c')).toBe(0)
    await finishAll(a, b, c)
  }, 60_000)
})

describe('smokesignal peer list, peer sockets and rejoin', () => {
  it('add / connect, a line over peer.socket, then close / remove / disconnect when the peer dies, and a rejoin through the seed when it is back', async () => {
    const [pa, pb] = (await freePorts(2)).map(String) as [string, string]
    let a = start('a', 'smokesignal-peers.mjs', { PORT: pa, NAME: 'a' })
    const b = start('b', 'smokesignal-peers.mjs', { PORT: pb, SEED_PORT: pa, NAME: 'b' })
    for (const [p, other] of [[a, 'b'], [b, 'a']] as const) {
      await p.until('the peer added, connect and its socket line', out =>
        out.includes(`${p.name} added a peer (1 in the list, inList true)`) &&
        out.includes(`${p.name}: connect`) &&
        out.includes(`${p.name} read from its peer: hello from ${other}`))
    }
    // a dies without a word: b's only peer is gone
    a.kill()
    await a.exited
    await b.until('close, remove and disconnect', out =>
      out.includes('b: all ties to a peer cut') && out.includes('b removed a peer (inList false)') && out.includes('b: disconnect'))
    // a comes back on the same port: b, left with no peer, rejoins through its seed by itself
    a = start('a again', 'smokesignal-peers.mjs', { PORT: pa, NAME: 'a' })
    await b.until('connect again', out => out.split('b: connect').length - 1 === 2, 45_000)
    await b.until('the new a\'s socket line', out => out.split('b read from its peer: hello from a').length - 1 === 2)
    await a.until('b in its list', out => out.includes('a added a peer (1 in the list, inList true)') && out.includes('a read from its peer: hello from b'))
    await finishAll(a, b)
  }, 90_000)
})

describe('smokesignal chat app', () => {
  it('three chatters: each connects, and every line typed shows on every other screen', async () => {
    const [p1, p2, p3] = (await freePorts(3)).map(String) as [string, string, string]
    const alice = start('alice', 'smokesignal-chat.mjs', { PORT: p1, SEED_PORT: p2 })
    const bob = start('bob', 'smokesignal-chat.mjs', { PORT: p2, SEED_PORT: p1 })
    const carol = start('carol', 'smokesignal-chat.mjs', { PORT: p3, SEED_PORT: p1 })
    const chatters = [alice, bob, carol]
    for (const p of chatters) {
      await p.until('its banner and connect', out => out.includes('Connecting...') && out.includes(`Port ${p.name === 'alice' ? p1 : p.name === 'bob' ? p2 : p3}`) && out.includes('Connected. Happy chatting!'))
      expect(p.stdout).toMatch(/^ID [a-z2-7]{52}$/m)
    }
    for (const p of chatters) p.child.stdin.write(`${p.name}: hi all\n`)
    for (const p of chatters) {
      const others = chatters.filter(o => o !== p).map(o => `${o.name}: hi all\n`)
      await p.until('the other two lines', out => others.every(l => out.includes(l)))
      expect(p.count(`${p.name}: hi all`)).toBe(0)
    }
    await finishAll(...chatters)
  }, 60_000)
})

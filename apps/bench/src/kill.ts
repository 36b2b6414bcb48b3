/**
 * Failure injection with real processes: a relay process and N node processes (kill-node.ts) on
 * loopback, seeded with the relay. Once the overlay carries broadcasts to everyone, a third of
 * the processes, the relay included, get SIGKILL; the survivors broadcast at once and must keep
 * delivering (≥ 99 % of the messages reach every live node, counted from the receipts each child
 * reports over IPC). The relay is then restarted on the same port with the same data directory
 * (so the same id), and the bench waits for nodes to link to it again. Every process is killed
 * when the run ends, whatever happened. `pnpm bench:kill` (kill-bench.ts) and a short CI test.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { ChildProcess } from 'node:child_process'
import type { KillNodeCommand, KillNodeEvent } from './kill-node.js'
import { exited, forkChild, killAll, round, spawnRelay, until, within } from './procs.js'
import type { RelayProcess } from './procs.js'

export interface KillOptions {
  /** Node processes besides the relay. @default 20 */
  nodes?: number
  /** Node processes killed together with the relay. @default a third of all processes, minus the relay (6 of 20 + 1) */
  kill?: number
  /** Broadcasts each node sends per round. @default 10 */
  messages?: number
  /** Between two broadcasts of one node, ms. @default 200 */
  intervalMs?: number
  /** The nodes' heal period (netsplit check, seed probe), ms. @default 2000 */
  healMs?: number
  /** Longest wait for the overlay, for a round's receipts and for the relay's return, ms. @default 60000 */
  timeoutMs?: number
  /**
   * Before the after-kill round, wait until the survivors' links join them into one group. The
   * bench sends at once (20 nodes leave nobody alone); the 8-node CI version can leave a node, or
   * two groups, whose links went to the dead, and a flood sent before they relink never reaches
   * the others (gossip keeps no history for a netsplit: CI saw 83 % once with "each survivor has
   * a link to another" as the condition).
   * @default false
   */
  relinkFirst?: boolean
  log?: (line: string) => void
}

export interface RoundResult {
  senders: number
  receivers: number
  sent: number
  receiptsExpected: number
  receipts: number
  /** receipts / receiptsExpected */
  delivered: number
  /** Messages that reached every live node. */
  complete: number
  /** complete / sent: the target is ≥ 0.99 */
  reachedAll: number
  /** From the first send to the last receipt, ms. */
  ms: number
}

export interface KillResult {
  nodes: number
  killed: { relay: true, nodes: number, share: number }
  overlayMs: number
  before: RoundResult
  afterKill: RoundResult
  relay: {
    sameId: boolean
    restartMs: number
    /** From the relay's ready line to the first node linked to it, ms (null: none within the timeout). */
    firstLinkMs: number | null
    /** Survivors linked to the relay when the rejoin wait ended. */
    linkedNodes: number
    survivors: number
  }
  afterRejoin: RoundResult
  pass: { delivery: boolean, rejoin: boolean }
}

interface Child {
  index: number
  proc: ChildProcess
  id: string
  links: Set<string>
  received: Set<string>
  sent: Map<string, string[]>
  alive: boolean
}

export async function runKillBench (o: KillOptions = {}): Promise<KillResult> {
  const N = o.nodes ?? 20
  const K = o.kill ?? Math.max(0, Math.round((N + 1) / 3) - 1)
  const M = o.messages ?? 10
  const interval = o.intervalMs ?? 200
  const timeout = o.timeoutMs ?? 60_000
  const log = o.log ?? (() => {})
  const dataDir = mkdtempSync(path.join(tmpdir(), 'hearsay-kill-'))
  const relayArgs = (port: number): string[] => ['--host', '127.0.0.1', '--port', String(port), '--data', dataDir, '--log-level', 'warn', '--max-conns-per-ip', '0']
  let relay: RelayProcess | undefined
  const children: Child[] = []
  try {
    relay = await spawnRelay(relayArgs(0))
    const relayId = relay.id
    log(`relay ${relayId.slice(0, 8)} at ${relay.ws}`)

    for (let i = 0; i < N; i++) {
      const proc = forkChild('kill-node.js', [relay.ws, String(i)], { KILL_HEAL_MS: String(o.healMs ?? 2000) })
      const c: Child = { index: i, proc, id: '', links: new Set(), received: new Set(), sent: new Map(), alive: true }
      proc.on('message', (e: KillNodeEvent) => {
        if (e.ev === 'ready') c.id = e.id
        else if (e.ev === 'link') { if (e.up) c.links.add(e.peer); else c.links.delete(e.peer) }
        else if (e.ev === 'received') for (const id of e.ids) c.received.add(id)
        else if (e.ev === 'sent') c.sent.set(e.round, e.ids)
        else if (e.ev === 'error') log(`node ${i}: ${e.message}`)
      })
      children.push(c)
    }
    await until(() => children.every(c => c.id !== ''), timeout, 'every node process to start')
    const send = (c: Child, m: KillNodeCommand): void => { if (c.alive && c.proc.connected) c.proc.send(m) }

    // a round: every live node broadcasts `count` messages; resolves once each reached every other live node, or at the deadline
    const round_ = async (name: string, count: number, waitMs = Math.min(timeout, 15_000)): Promise<RoundResult> => {
      const live = children.filter(c => c.alive)
      const t0 = performance.now()
      for (const c of live) send(c, { cmd: 'broadcast', round: name, count, intervalMs: interval })
      const sendMs = (count - 1) * interval
      await until(() => live.every(c => c.sent.has(name)), sendMs + timeout, `the ${name} broadcasts to be sent`)
      const ids = live.flatMap(c => (c.sent.get(name) ?? []).map(id => ({ id, from: c })))
      const allIn = (): boolean => ids.every(({ id, from }) => live.every(r => r === from || r.received.has(id)))
      await until(allIn, waitMs, `every ${name} broadcast everywhere`).catch(() => {})
      const ms = performance.now() - t0
      let receipts = 0
      let complete = 0
      for (const { id, from } of ids) {
        let got = 0
        for (const r of live) if (r !== from && r.received.has(id)) got++
        receipts += got
        if (got === live.length - 1) complete++
      }
      const expected = ids.length * (live.length - 1)
      const r: RoundResult = { senders: live.length, receivers: live.length, sent: ids.length, receiptsExpected: expected, receipts, delivered: round(expected === 0 ? 1 : receipts / expected, 4), complete, reachedAll: round(ids.length === 0 ? 1 : complete / ids.length, 4), ms: Math.round(ms) }
      log(`round ${name}: ${ids.length} broadcasts by ${live.length} nodes, ${receipts}/${expected} receipts (${round(100 * r.delivered, 2)} %), ${complete} reached everyone, ${r.ms} ms`)
      return r
    }

    // ---- the overlay: wait until one broadcast from each node reaches all others ----
    const t0 = performance.now()
    await until(() => children.every(c => c.links.size >= 1), timeout, 'every node to link')
    // joins are still settling when the last node links: warm-up rounds until one reaches everyone
    for (let k = 1; (await round_(`warm${k}`, 1, 3000)).reachedAll < 1; k++) {
      if (performance.now() - t0 > timeout) throw new Error('the overlay did not carry a broadcast to every node')
    }
    const overlayMs = Math.round(performance.now() - t0)
    const before = await round_('before', M)

    // ---- kill -9: the relay and K nodes, at once ----
    const victims = pick(children, K)
    const oldPort = relay.wsPort
    await Promise.all([relay.kill9(), ...victims.map(async (c) => { c.alive = false; c.proc.kill('SIGKILL'); await exited(c.proc) })])
    log(`killed the relay and nodes ${victims.map(c => c.index).join(', ')} (SIGKILL)`)
    if (o.relinkFirst === true) {
      const alive = new Set(children.filter(c => c.alive).map(c => c.id))
      const tk = performance.now()
      // linked to another survivor is not enough: two groups of survivors can each be linked
      // inside and not to each other, and what one group says then never reaches the other
      const connected = (): boolean => {
        const live = children.filter(c => c.alive)
        const byId = new Map(live.map(c => [c.id, c]))
        const seen = new Set<string>([live[0]!.id])
        const todo = [live[0]!]
        while (todo.length > 0) {
          for (const id of todo.pop()!.links) {
            if (!alive.has(id) || seen.has(id)) continue
            seen.add(id)
            todo.push(byId.get(id)!)
          }
        }
        return seen.size === live.length
      }
      await until(connected, timeout, 'the survivors to link into one group')
      log(`the survivors linked into one group ${Math.round(performance.now() - tk)} ms after the kill`)
    }
    const afterKill = await round_('after-kill', M)

    // ---- the relay returns on the same port, with the same data (same id) ----
    const survivors = children.filter(c => c.alive)
    const r0 = performance.now()
    relay = await spawnRelay(relayArgs(oldPort))
    const restartMs = Math.round(performance.now() - r0)
    const ready = performance.now()
    const linked = (): number => survivors.filter(c => c.links.has(relayId)).length
    let firstLinkMs: number | null = null
    try {
      await until(() => linked() > 0, timeout, 'a node to link to the restarted relay')
      firstLinkMs = Math.round(performance.now() - ready)
      // then give the others a few heal periods to come back too
      await until(() => linked() === survivors.length, Math.min(timeout, 5 * (o.healMs ?? 2000) + 5000), 'every survivor to link to the relay').catch(() => {})
    } catch { /* reported as null */ }
    log(`relay back (${relay.id === relayId ? 'same id' : 'NEW id'}) in ${restartMs} ms; first node linked after ${String(firstLinkMs)} ms; ${linked()}/${survivors.length} survivors linked to it`)
    const afterRejoin = await round_('after-rejoin', M)

    const result: KillResult = {
      nodes: N,
      killed: { relay: true, nodes: K, share: round((K + 1) / (N + 1), 3) },
      overlayMs,
      before,
      afterKill,
      relay: { sameId: relay.id === relayId, restartMs, firstLinkMs, linkedNodes: linked(), survivors: survivors.length },
      afterRejoin,
      pass: { delivery: afterKill.reachedAll >= 0.99 && afterRejoin.reachedAll >= 0.99, rejoin: relay.id === relayId && firstLinkMs !== null }
    }
    // a clean stop for the survivors and the relay; the finally below kills whatever is left
    for (const c of survivors) send(c, { cmd: 'stop' })
    await within(Promise.all(survivors.map(async c => { await exited(c.proc) })), 15_000, 'the nodes to stop').catch(() => {})
    await relay.stop()
    return result
  } finally {
    for (const c of children) if (c.proc.exitCode === null) c.proc.kill('SIGKILL')
    if (relay !== undefined && relay.child.exitCode === null) await relay.kill9()
    killAll()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

/** `k` distinct elements, spread over the list (every third one first): deterministic, no seed to carry. */
function pick<T> (items: T[], k: number): T[] {
  const order = [...items.keys()].sort((a, b) => (a % 3) - (b % 3) || a - b)
  return order.slice(0, k).map(i => items[i]!)
}

export function killMarkdown (r: KillResult, machine: { cores: number, cpuModel: string, node: string, loadAverage: number[] }): string {
  const row = (name: string, x: RoundResult): string =>
    `| ${name} | ${x.senders} | ${x.sent} | ${x.receipts} / ${x.receiptsExpected} | ${round(100 * x.delivered, 2)} % | ${x.complete} / ${x.sent} | ${x.ms} |`
  return [
    '# Failure injection: kill -9 a third of the processes, the relay included',
    '',
    `\`pnpm bench:kill\`: ${r.nodes} node processes (hearsay over ws on loopback, seeds = the relay) and the relay CLI (LevelDB data directory), ` +
    `${machine.cores} × ${machine.cpuModel}, Node ${machine.node}, load average ${machine.loadAverage.join(' / ')}.`,
    '',
    `The overlay carried a broadcast from every node to every other ${r.overlayMs} ms after the start. Then the relay and ${r.killed.nodes} nodes ` +
    `(${round(100 * r.killed.share, 1)} % of the processes) got SIGKILL at once, and the survivors broadcast right away.`,
    '',
    '| round | senders | broadcasts | receipts | delivered | reached every live node | ms |',
    '|---|---|---|---|---|---|---|',
    row('before the kill', r.before),
    row('right after the kill', r.afterKill),
    row('after the relay returned', r.afterRejoin),
    '',
    `Relay restarted on the same port with the same data directory in ${r.relay.restartMs} ms (${r.relay.sameId ? 'same id' : 'a new id'}); ` +
    `the first node linked to it ${r.relay.firstLinkMs === null ? 'never (within the timeout)' : `${r.relay.firstLinkMs} ms after its ready line`}; ` +
    `${r.relay.linkedNodes} of ${r.relay.survivors} survivors were linked to it when the wait ended.`,
    '',
    `Targets: ≥ 99 % of the messages reach every live node after the kill — ${r.pass.delivery ? 'met' : 'NOT met'}; nodes link to the returning relay — ${r.pass.rejoin ? 'met' : 'NOT met'}.`,
    ''
  ].join('\n')
}

import { networkInterfaces } from 'node:os'
import type { NetworkInterfaceInfo } from 'node:os'
import type { PageLifecycle } from '@hearsay/core'

/** How often `networkChanges()` reads the interfaces by default, ms. */
export const NETWORK_POLL_MS = 3_000

export interface NetworkChangesOptions {
  /** How often the interfaces are read, ms. @default 3000 */
  intervalMs?: number
  /** Where they are read (a fake in tests). @default `os.networkInterfaces` */
  interfaces?: () => NodeJS.Dict<NetworkInterfaceInfo[]>
}

/** The addresses of the machine's interfaces other than loopback, one string, order-independent. */
export function interfaceFingerprint (ifaces: NodeJS.Dict<NetworkInterfaceInfo[]>): string {
  const lines: string[] = []
  for (const [name, infos] of Object.entries(ifaces)) {
    for (const info of infos ?? []) if (!info.internal) lines.push(`${name} ${info.family} ${info.address}/${info.netmask}`)
  }
  return lines.sort().join('\n')
}

/**
 * The `pageLifecycle` option's value for Node (and Electron's main process): Node has no
 * `online` event, so the node reads `os.networkInterfaces()` every `intervalMs` (one
 * getifaddrs call; the timer does not keep the process alive) and, when an address other than
 * loopback came, went or changed (Wi-Fi to Ethernet, a new DHCP lease, a VPN up or down, a
 * laptop docked), re-checks every link and rejoins at once, as a page does on `online`
 * (`node.resume()`'s check: a heartbeat to every neighbour, the failure detector re-armed,
 * counted as `membership.wakes`). A link bound to an address that is gone then fails its
 * heartbeats and is relinked (WebRTC links over the overlay's signalling, with fresh
 * candidates). `createNode` of `hearsay` in Node passes it by default.
 */
export function networkChanges (options: NetworkChangesOptions = {}): PageLifecycle {
  const intervalMs = options.intervalMs ?? NETWORK_POLL_MS
  if (!Number.isFinite(intervalMs) || intervalMs <= 0) throw new TypeError('networkChanges: intervalMs must be a positive number')
  const read = options.interfaces ?? networkInterfaces
  return (hooks) => watch(read, intervalMs, () => { hooks.wake() })
}

/** One poll per reader and interval, shared by every node of the process that uses it (a worker may host hundreds). */
interface Poll { last: string | undefined, wakes: Set<() => void>, timer: ReturnType<typeof setInterval> }
const polls = new Map<() => NodeJS.Dict<NetworkInterfaceInfo[]>, Map<number, Poll>>()

function watch (read: () => NodeJS.Dict<NetworkInterfaceInfo[]>, intervalMs: number, wake: () => void): () => void {
  // libuv's getifaddrs can fail where the sandbox forbids it (Android's, some containers'):
  // then there is nothing to compare, and the node runs on without this check
  const fingerprint = (): string | undefined => { try { return interfaceFingerprint(read()) } catch { return undefined } }
  let byInterval = polls.get(read)
  if (byInterval === undefined) { byInterval = new Map(); polls.set(read, byInterval) }
  let poll = byInterval.get(intervalMs)
  if (poll === undefined) {
    const p: Poll = {
      last: fingerprint(),
      wakes: new Set(),
      timer: setInterval(() => {
        const now = fingerprint()
        if (now === undefined || now === p.last) return
        const changed = p.last !== undefined
        p.last = now
        if (changed) for (const w of [...p.wakes]) w()
      }, intervalMs)
    }
    p.timer.unref?.()
    poll = p
    byInterval.set(intervalMs, poll)
  }
  const mine = poll
  // a function of its own per node: two nodes never share a subscription
  const sub = (): void => { wake() }
  mine.wakes.add(sub)
  return () => {
    mine.wakes.delete(sub)
    if (mine.wakes.size > 0) return
    clearInterval(mine.timer)
    byInterval.delete(intervalMs)
    if (byInterval.size === 0) polls.delete(read)
  }
}

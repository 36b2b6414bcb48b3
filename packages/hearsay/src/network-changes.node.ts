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
  // libuv's getifaddrs can fail where the sandbox forbids it (Android's, some containers'):
  // then there is nothing to compare, and the node runs on without this check
  const fingerprint = (): string | undefined => { try { return interfaceFingerprint(read()) } catch { return undefined } }
  return (hooks) => {
    let last = fingerprint()
    const timer = setInterval(() => {
      const now = fingerprint()
      if (now === undefined || now === last) return
      const changed = last !== undefined
      last = now
      if (changed) hooks.wake()
    }, intervalMs)
    timer.unref?.()
    return () => { clearInterval(timer) }
  }
}

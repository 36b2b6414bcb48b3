import { existsSync, readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export interface MachineInfo {
  cpuModel: string
  cores: number
  totalMemoryBytes: number
  node: string
  platform: string
  arch: string
  /** 1-, 5- and 15-minute load averages: on a shared machine they say how noisy the run was. */
  loadAverage: number[]
}

export function machineInfo (): MachineInfo {
  const cpus = os.cpus()
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    totalMemoryBytes: os.totalmem(),
    node: process.version,
    platform: os.platform(),
    arch: os.arch(),
    loadAverage: os.loadavg().map(x => Math.round(x * 100) / 100)
  }
}

/** Packages whose versions the report states: hearsay's own and every library under test. */
export const REPORTED_PACKAGES = [
  '@hearsay/core', '@hearsay/transport-ws', '@hearsay/transport-tcp', 'ws',
  'libp2p', '@chainsafe/libp2p-gossipsub', '@libp2p/websockets', '@chainsafe/libp2p-noise',
  '@chainsafe/libp2p-yamux', '@libp2p/identify'
] as const

/**
 * The installed version of each package, as resolved from this app (what actually ran), or
 * `null` when it is not installed. Reads the package.json found above the resolved entry, since
 * export maps often hide `<pkg>/package.json`.
 */
export function packageVersions (names: readonly string[] = REPORTED_PACKAGES): Record<string, string | null> {
  const out: Record<string, string | null> = {}
  for (const name of names) out[name] = versionOf(name)
  return out
}

function versionOf (name: string): string | null {
  let entry: string
  try {
    // vitest rewrites import.meta without `resolve`: the versions are then unknown, not wrong
    if (typeof import.meta.resolve !== 'function') return null
    entry = fileURLToPath(import.meta.resolve(name))
  } catch { return null }
  for (let dir = path.dirname(entry); ; dir = path.dirname(dir)) {
    const pj = path.join(dir, 'package.json')
    if (existsSync(pj)) {
      try {
        const json = JSON.parse(readFileSync(pj, 'utf8')) as { name?: string, version?: string }
        if (json.name === name) return json.version ?? null
      } catch { /* keep walking */ }
    }
    if (path.dirname(dir) === dir) return null
  }
}

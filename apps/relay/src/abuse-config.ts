/**
 * The relay's abuse limits: one flag and one environment variable per `AbuseLimits` field
 * (core's `abuse` option, docs/api.md "Abuse limits"), and the relay's own defaults where a
 * public relay needs other values than core's. Pure, like config.ts, which wires it in.
 */
import { DEFAULT_ABUSE_LIMITS } from '@hearsay/core'
import type { AbuseLimits } from '@hearsay/core'

/**
 * A peer's fair share of a relay, frames per second. A page sends the relay its own broadcasts
 * and gossip control frames: about 20 per second in the abuse bench (10 broadcasts/s per
 * node). Every frame a peer gets admitted the relay fans out to its neighbours, so the share is
 * what one peer may make every page process: on the abuse bench (3 honest nodes, one peer
 * flooding flat out) 1,000 frames/s raised the honest p99 10× and /healthz past a second;
 * at 200 the p99 went 41 → 174 ms, /healthz ≤ 147 ms (numbers in the relay README). A relay mesh whose
 * relay-to-relay links carry more than this raises it. Core's default (1M) is a backstop
 * above what one link can carry, no share at all.
 */
export const RELAY_PEER_FRAMES_PER_SECOND = 200
/** A peer's fair share of a relay, bytes per second (1 MiB; at least a maximal frame, 256 KiB, fits the burst). */
export const RELAY_PEER_BYTES_PER_SECOND = 1024 * 1024
/**
 * Inbound handshakes in progress from one IP (one IPv6 /64): an office's burst of joins (20 pages
 * opened at once behind one NAT) gets through, and one host alone cannot fill the 128 slots (so
 * it cannot make the relay cut anyone else's handshake).
 */
export const RELAY_MAX_PENDING_HANDSHAKES_PER_IP = 32

/** The abuse limits a relay sets over core's defaults (before its flags). */
export const RELAY_ABUSE_DEFAULTS: Readonly<Partial<AbuseLimits>> = Object.freeze({
  peerFramesPerSecond: RELAY_PEER_FRAMES_PER_SECOND,
  peerBytesPerSecond: RELAY_PEER_BYTES_PER_SECOND,
  maxPendingHandshakesPerAddress: RELAY_MAX_PENDING_HANDSHAKES_PER_IP
})

interface AbuseFlag { key: keyof AbuseLimits, env: string, arg: string, help: string, min: number }

const dflt = (key: keyof AbuseLimits): string => String(RELAY_ABUSE_DEFAULTS[key] ?? DEFAULT_ABUSE_LIMITS[key])

/** Each abuse flag (`--max-conns-per-ip`, the per-address connection cap, is in config.ts). */
export const ABUSE_FLAGS = {
  'peer-frames-per-second': { key: 'peerFramesPerSecond', env: 'HEARSAY_PEER_FRAMES_PER_SECOND', arg: '<n>', min: 0, help: `frames one peer may send per second; the excess is dropped; 0 = no limit (default ${dflt('peerFramesPerSecond')})` },
  'peer-bytes-per-second': { key: 'peerBytesPerSecond', env: 'HEARSAY_PEER_BYTES_PER_SECOND', arg: '<n>', min: 0, help: `bytes one peer may send per second; 0 = no limit (default ${dflt('peerBytesPerSecond')})` },
  'peer-throttle-ms': { key: 'peerThrottleMs', env: 'HEARSAY_PEER_THROTTLE_MS', arg: '<ms>', min: 0, help: `how long a peer may stay over its rates before it is cut off and its id banned (default ${dflt('peerThrottleMs')})` },
  'max-invalid-frames': { key: 'maxInvalidFrames', env: 'HEARSAY_MAX_INVALID_FRAMES', arg: '<n>', min: 0, help: `invalid frames from one peer id within the offence window that ban the id; 0 = never (default ${dflt('maxInvalidFrames')})` },
  'max-handshake-failures': { key: 'maxHandshakeFailures', env: 'HEARSAY_MAX_HANDSHAKE_FAILURES', arg: '<n>', min: 0, help: `handshakes failed on bad bytes from one IP within the offence window that penalise the IP; 0 = never (default ${dflt('maxHandshakeFailures')})` },
  'offence-window-ms': { key: 'offenceWindowMs', env: 'HEARSAY_OFFENCE_WINDOW_MS', arg: '<ms>', min: 1, help: `window in which offences are counted (default ${dflt('offenceWindowMs')})` },
  'ban-ms': { key: 'banMs', env: 'HEARSAY_BAN_MS', arg: '<ms>', min: 1, help: `how long a peer id stays banned (default ${dflt('banMs')})` },
  'address-ban-ms': { key: 'addressBanMs', env: 'HEARSAY_ADDRESS_BAN_MS', arg: '<ms>', min: 1, help: `how long an IP that sent garbage handshakes is held to one handshake at a time (default ${dflt('addressBanMs')})` },
  'max-bans': { key: 'maxBans', env: 'HEARSAY_MAX_BANS', arg: '<n>', min: 1, help: `bans remembered, the oldest forgotten first (default ${dflt('maxBans')})` },
  'max-pending-handshakes': { key: 'maxPendingHandshakes', env: 'HEARSAY_MAX_PENDING_HANDSHAKES', arg: '<n>', min: 0, help: `inbound handshakes in progress at once; when full the oldest is cut; 0 = no cap (default ${dflt('maxPendingHandshakes')})` },
  'max-pending-handshakes-per-ip': { key: 'maxPendingHandshakesPerAddress', env: 'HEARSAY_MAX_PENDING_HANDSHAKES_PER_IP', arg: '<n>', min: 0, help: `inbound handshakes in progress from one IP (an IPv6 /64); 0 = no cap (default ${dflt('maxPendingHandshakesPerAddress')})` },
  'handshake-timeout-under-load-ms': { key: 'handshakeTimeoutUnderLoadMs', env: 'HEARSAY_HANDSHAKE_TIMEOUT_UNDER_LOAD_MS', arg: '<ms>', min: 0, help: `time to send a verified hello while half the handshake slots are in use; 0 = keep the normal timeout (default ${dflt('handshakeTimeoutUnderLoadMs')})` }
} as const satisfies Record<string, AbuseFlag>

export type AbuseFlagName = keyof typeof ABUSE_FLAGS

/** Usage lines of the abuse flags, in config.ts's format. */
export function abuseUsage (format: (flag: string, env: string, help: string) => string): string[] {
  return Object.entries(ABUSE_FLAGS).map(([name, f]) => format(`--${name} ${f.arg}`, f.env, f.help))
}

/**
 * The abuse limits set by flags or environment variables (flags win; an empty variable counts
 * as unset). `integer` parses a value the way config.ts parses every integer.
 */
export function parseAbuse (
  values: Readonly<Partial<Record<string, string | boolean>>>,
  env: Readonly<Record<string, string | undefined>>,
  integer: (text: string, source: string, min: number, max: number) => number
): Partial<AbuseLimits> {
  const abuse: Partial<AbuseLimits> = {}
  for (const [name, f] of Object.entries(ABUSE_FLAGS) as Array<[string, AbuseFlag]>) {
    const v = values[name]
    const e = env[f.env]
    const raw = typeof v === 'string' ? { value: v, source: `--${name}` } : e !== undefined && e !== '' ? { value: e, source: f.env } : undefined
    if (raw !== undefined) abuse[f.key] = integer(raw.value, raw.source, f.min, Number.MAX_SAFE_INTEGER)
  }
  return abuse
}

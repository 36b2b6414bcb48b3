import { InvalidAddressError, parseAddress } from '@hearsay/core'
import type { ParsedAddress } from '@hearsay/core'

export const PROTOCOLS = ['ws', 'wss'] as const

/** Parses a `ws://` or `wss://` address (a bare `host:port` means `ws`); anything else is invalid. */
export function parseWsAddress (address: string, use: 'dial' | 'listen'): ParsedAddress {
  const a = parseAddress(address, 'ws')
  if (a.protocol !== 'ws' && a.protocol !== 'wss') {
    throw new InvalidAddressError(`The ws transport cannot ${use} ${String(address)}`)
  }
  if (use === 'dial' && a.port === 0) throw new InvalidAddressError(`Cannot dial port 0: ${address}`)
  return a
}

/** The path part of an address or request URL, without the query; `/` when empty. */
export function pathOf (pathAndQuery: string): string {
  const q = pathAndQuery.indexOf('?')
  const path = q === -1 ? pathAndQuery : pathAndQuery.slice(0, q)
  return path === '' ? '/' : path
}

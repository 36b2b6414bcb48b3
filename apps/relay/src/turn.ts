/**
 * TURN through coturn: the relay hands each peer short-lived credentials in coturn's shared-secret
 * REST scheme (`use-auth-secret` / `static-auth-secret`; draft-uberti-behave-turn-rest): the
 * username is `expiry:peerId` (expiry in Unix seconds), the password the base64 HMAC-SHA1 of the
 * username keyed with the shared secret. coturn checks both and the expiry; the relay never talks
 * to it. The peer id in the username lets coturn's log name who used the relay.
 */
import { createHmac } from 'node:crypto'
import type { IceServerOffer } from '@hearsay/core'
import { readSecretFile } from './secret-file.js'

export interface TurnCredential { username: string, credential: string }

/** The credential for `peerId` valid until `expiresAt` (Unix seconds). */
export function turnCredential (secret: string, peerId: string, expiresAt: number): TurnCredential {
  const username = `${Math.floor(expiresAt)}:${peerId}`
  const credential = createHmac('sha1', secret).update(username).digest('base64')
  return { username, credential }
}

/** What `--turn-url` names: scheme, port and transport (the host is the relay's own, see docs). */
export interface TurnUrl {
  scheme: 'turn' | 'turns'
  host: string
  port: number
  transport?: 'udp' | 'tcp'
}

/** Parses `turn:HOST[:PORT][?transport=udp|tcp]` or `turns:…`; throws `Error` naming what is wrong. */
export function parseTurnUrl (text: string): TurnUrl {
  const m = /^(turns?):(\[[0-9a-fA-F:.]+\]|[^:?/@\s\[\]]+)(?::(\d{1,5}))?(?:\?transport=(udp|tcp))?$/.exec(text.trim())
  if (m === null) throw new Error(`expected turn:HOST[:PORT][?transport=udp|tcp] or turns:…, got ${JSON.stringify(text)}`)
  const scheme = m[1] as 'turn' | 'turns'
  const port = m[3] === undefined ? (scheme === 'turns' ? 5349 : 3478) : Number(m[3])
  if (port < 1 || port > 65535) throw new Error(`the port of ${JSON.stringify(text)} must be from 1 to 65535`)
  const url: TurnUrl = { scheme, host: m[2]!.replace(/^\[(.*)\]$/, '$1'), port }
  if (m[4] !== undefined) url.transport = m[4] as 'udp' | 'tcp'
  return url
}

/** coturn's shared secret in `path`: its contents, trimmed; an empty file is an error. */
export async function readTurnSecret (path: string): Promise<string> {
  return await readSecretFile(path, 'TURN secret')
}

/** The TURN offer for one peer: `url`'s scheme, port and transport with a credential valid `ttlSeconds` from `nowMs`. */
export function turnOffer (url: TurnUrl, secret: string, peerId: string, nowMs: number, ttlSeconds: number): IceServerOffer {
  const offer: IceServerOffer = { scheme: url.scheme, port: url.port, ...turnCredential(secret, peerId, nowMs / 1000 + ttlSeconds) }
  if (url.transport !== undefined) offer.transport = url.transport
  return offer
}

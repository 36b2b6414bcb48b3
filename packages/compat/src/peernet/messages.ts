/**
 * peernet's announcement messages and reply rows: `{ id, type, data, limit, hops }` with id and
 * type at most 64 bytes and data at most 1024 bytes, as its README sets them. They travel
 * inside hearsay announcements of the type `peernet` (hearsay's own id, type and hop fields
 * are used for routing; peernet's travel in the payload so that replies can carry them back).
 */
import { createHash, randomBytes } from 'node:crypto'
import { TooLargeError } from '@hearsay/core'

export const ANNOUNCE_TYPE = 'peernet'
export const MAX_ID_BYTES = 64
export const MAX_TYPE_BYTES = 64
export const MAX_DATA_BYTES = 1024

export type Field = Buffer | Uint8Array | string

/** What `pn.announce(msg)` and `req.reply(msg)` take. */
export interface PeernetMessage { id?: Field, type?: Field, data?: Field, limit?: number, hops?: number }

/** A reply row of `pn.announce()`'s stream, and the shape of a `request`. */
export interface PeernetRow { id: Buffer | string, type?: Buffer | string, data?: Buffer, limit?: number, hops: number }

/** The payload inside the hearsay announcement or reply. `d` (replies only): hops the request took to the replier. */
interface Wire { id: Uint8Array | string, type?: Uint8Array | string, data?: Uint8Array | string, limit?: number, hops?: number, d?: number }

function byteLength (f: Field): number { return typeof f === 'string' ? Buffer.byteLength(f) : f.byteLength }

function checkField (name: string, value: unknown, max: number): Field | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string' && !(value instanceof Uint8Array)) throw new TypeError(`peernet: msg.${name} must be a Buffer or a string`)
  if (byteLength(value) > max) throw new TooLargeError(`peernet: msg.${name} is ${byteLength(value)} bytes, above ${max}`)
  return value
}

function checkCount (name: string, value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 255) throw new TypeError(`peernet: msg.${name} must be an integer 0..255, got ${String(value)}`)
  return value
}

export interface CheckedMessage { id: Field, type?: Field, data?: Field, limit?: number, hops: number }

/** Checks a message at the call: `TypeError` for a wrong kind, `TooLargeError` above the README's sizes. */
export function checkMessage (msg: unknown, defaults: Partial<CheckedMessage> = {}): CheckedMessage {
  if (typeof msg === 'string' || msg instanceof Uint8Array) msg = { data: msg }
  if (msg === undefined || msg === null || typeof msg !== 'object') throw new TypeError('peernet: a message must be an object (id, type, data, limit, hops), a Buffer or a string')
  const m = msg as Record<string, unknown>
  const id = checkField('id', m.id, MAX_ID_BYTES) ?? defaults.id ?? randomBytes(32)
  const type = checkField('type', m.type, MAX_TYPE_BYTES) ?? defaults.type
  const data = checkField('data', m.data, MAX_DATA_BYTES) ?? defaults.data
  const limit = checkCount('limit', m.limit) ?? defaults.limit
  const hops = checkCount('hops', m.hops) ?? 0
  if (limit !== undefined && hops > limit) throw new TypeError(`peernet: msg.hops (${hops}) is above msg.limit (${limit})`)
  return { id, ...(type === undefined ? {} : { type }), ...(data === undefined ? {} : { data }), ...(limit === undefined ? {} : { limit }), hops }
}

/** hearsay's announcement id for a peernet id: its SHA-256 (64 hex characters fit hearsay's 64-byte ids; equal ids stay equal, so the dedup cache still breaks loops). */
export function hearsayId (id: Field): string {
  return createHash('sha256').update(typeof id === 'string' ? Buffer.from(id) : id).digest('hex')
}

export function toWire (m: CheckedMessage, distance?: number): Wire {
  return { id: m.id, ...(m.type === undefined ? {} : { type: m.type }), ...(m.data === undefined ? {} : { data: m.data }), ...(m.limit === undefined ? {} : { limit: m.limit }), hops: m.hops, ...(distance === undefined ? {} : { d: distance }) }
}

function asBuffer (v: Uint8Array): Buffer { return Buffer.from(v.buffer, v.byteOffset, v.byteLength) }
function field (v: unknown): Buffer | string | undefined {
  if (typeof v === 'string') return v
  if (v instanceof Uint8Array) return asBuffer(v)
  return undefined
}

/**
 * A row from a wire payload, or undefined when it is not one (a peer that is not peernet).
 * `data` is a Buffer, as the README's rows carry it; `id` and `type` keep the kind they were sent as.
 */
export function fromWire (v: unknown, hopsTravelled: number): PeernetRow | undefined {
  const w = v as Partial<Wire> | null
  if (w === null || typeof w !== 'object') return undefined
  const id = field(w.id)
  if (id === undefined) return undefined
  const type = field(w.type)
  const raw = w.data
  const data = typeof raw === 'string' ? Buffer.from(raw) : raw instanceof Uint8Array ? asBuffer(raw) : undefined
  const limit = typeof w.limit === 'number' ? w.limit : undefined
  const hops = (typeof w.hops === 'number' ? w.hops : 0) + hopsTravelled
  return { id, ...(type === undefined ? {} : { type }), ...(data === undefined ? {} : { data }), ...(limit === undefined ? {} : { limit }), hops }
}

/** Hops a reply travelled back: the distance its request had gone, which the replier put in `d`. */
export function replyDistance (v: unknown): number {
  const d = (v as { d?: unknown } | null)?.d
  return typeof d === 'number' && Number.isInteger(d) && d >= 0 ? d : 0
}

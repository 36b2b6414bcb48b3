const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

export function utf8 (s: string): Uint8Array { return encoder.encode(s) }
export function fromUtf8 (b: Uint8Array): string { return decoder.decode(b) }

/** UTF-8 byte length without allocating. */
export function utf8Length (s: string): number {
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) n += 1
    else if (c < 0x800) n += 2
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) { n += 4; i++ } else n += 3
  }
  return n
}

export function concat (...parts: Uint8Array[]): Uint8Array {
  let len = 0
  for (const p of parts) len += p.length
  const out = new Uint8Array(len)
  let off = 0
  for (const p of parts) { out.set(p, off); off += p.length }
  return out
}

export function equals (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

export function toHex (b: Uint8Array): string {
  let s = ''
  for (const x of b) s += x.toString(16).padStart(2, '0')
  return s
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** RFC 4648 base64url without padding (a JWK's key fields): `toBase64Url` and back. */
export function fromBase64Url (s: string): Uint8Array {
  return Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), c => c.charCodeAt(0))
}

/** RFC 4648 base64url without padding (a JWK's key fields). */
export function toBase64Url (b: Uint8Array): string {
  let s = ''
  for (let i = 0; i < b.length; i += 3) {
    const n = (b[i]! << 16) | ((b[i + 1] ?? 0) << 8) | (b[i + 2] ?? 0)
    const chars = Math.min(4, Math.ceil((b.length - i) * 4 / 3))
    for (let k = 0; k < chars; k++) s += B64URL[(n >> (18 - 6 * k)) & 63]
  }
  return s
}

export function fromHex (hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || /[^0-9a-f]/i.test(hex)) throw new TypeError('invalid hex string')
  const out = new Uint8Array(hex.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16)
  return out
}

const B32 = 'abcdefghijklmnopqrstuvwxyz234567'

/** RFC 4648 base32, lower case, no padding: safe in URLs, hostnames and file names. */
export function toBase32 (b: Uint8Array): string {
  let out = ''
  let bits = 0
  let value = 0
  for (const x of b) {
    value = (value << 8) | x
    bits += 8
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31]
  return out
}

export function fromBase32 (s: string): Uint8Array {
  const out = new Uint8Array(Math.floor(s.length * 5 / 8))
  let bits = 0
  let value = 0
  let j = 0
  for (const ch of s) {
    const v = B32.indexOf(ch)
    if (v < 0) throw new TypeError('invalid base32 string')
    value = (value << 5) | v
    bits += 5
    if (bits >= 8) {
      out[j++] = (value >>> (bits - 8)) & 0xff
      bits -= 8
    }
  }
  // non-canonical trailing bits would let two strings name one key
  if (bits > 0 && (value & ((1 << bits) - 1)) !== 0) throw new TypeError('invalid base32 padding bits')
  return out
}

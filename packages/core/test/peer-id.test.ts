import { describe, expect, it } from 'vitest'
import { fromBase32, toBase32 } from '../src/util/bytes.js'
import { seededRandom } from '../src/util/clock.js'
import { isPeerId, PEER_ID_LENGTH } from '../src/wire/identity.js'

/** The definition: 52 characters that fromBase32 decodes (letters, canonical trailing bits). */
function reference (s: string): boolean {
  if (s.length !== PEER_ID_LENGTH) return false
  try { fromBase32(s); return true } catch { return false }
}

describe('isPeerId', () => {
  it('accepts exactly what decodes as a canonical 32-byte base32 key', () => {
    const random = seededRandom(52)
    const alphabet = 'abcdefghijklmnopqrstuvwxyz234567ABZ0189=-_ \u00e9'
    for (let k = 0; k < 2000; k++) {
      const id = toBase32(random.bytes(32))
      expect(isPeerId(id)).toBe(true)
      // one character changed, anywhere (the last carries the 4 trailing bits)
      const at = k % 4 === 0 ? PEER_ID_LENGTH - 1 : Math.floor(random.float() * PEER_ID_LENGTH)
      const ch = alphabet[Math.floor(random.float() * alphabet.length)]!
      const edited = id.slice(0, at) + ch + id.slice(at + 1)
      expect(isPeerId(edited)).toBe(reference(edited))
    }
    for (const v of [undefined, null, 5, {}, '', 'a'.repeat(51), 'a'.repeat(53), 'a'.repeat(51) + '\ud83d\ude00'.slice(0, 1)]) {
      expect(isPeerId(v)).toBe(typeof v === 'string' && reference(v))
    }
  })
})

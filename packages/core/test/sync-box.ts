import { BoxStream } from '../src/index.js'
import type { CipherSuite } from '../src/index.js'

/** A box stream of a synchronous suite (XSalsa20-Poly1305, node:crypto's AES-256-GCM), as the vectors and fuzzers use it. */
export function syncBox (key: Uint8Array, suite?: CipherSuite): { seal: (plain: Uint8Array) => Uint8Array, open: (boxed: Uint8Array) => Uint8Array } {
  const box = new BoxStream(key, suite)
  const now = (x: Uint8Array | Promise<Uint8Array>): Uint8Array => {
    if (x instanceof Promise) throw new TypeError('a synchronous suite was expected')
    return x
  }
  return { seal: (plain) => now(box.seal(plain)), open: (boxed) => now(box.open(boxed)) }
}

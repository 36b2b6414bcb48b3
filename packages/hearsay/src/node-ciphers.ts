/// <reference types="node" />
import * as nodeCrypto from 'node:crypto'
import { aes256Gcm, installBinaryEnvelopes, installCipherSuite, installEd25519, nodeEd25519 } from '@hearsay/core'

/**
 * Node's native AES-256-GCM (OpenSSL, AES-NI) for the frames of every secure link, preferred
 * over XSalsa20-Poly1305 when the other end has it too (docs/protocol.md, "Cipher suites"),
 * node:crypto's ed25519 (`installEd25519`), and the binary envelopes' own codec. Both Node entries' `createNode` call
 * it; browsers keep XSalsa20-Poly1305 and the JavaScript curve.
 */
export function installNodeCiphers (): void {
  installCipherSuite(aes256Gcm(nodeCrypto))
  installEd25519(ed25519 ??= nodeEd25519(nodeCrypto))
  installBinaryEnvelopes()
}

/** One (and its key caches) for every node of the process. */
let ed25519: ReturnType<typeof nodeEd25519> | undefined

/// <reference types="node" />
import { createCipheriv, createDecipheriv } from 'node:crypto'
import { aes256Gcm, installCipherSuite } from '@hearsay/core'

/**
 * Node's native AES-256-GCM (OpenSSL, AES-NI) for the frames of every secure link, preferred
 * over XSalsa20-Poly1305 when the other end has it too (docs/protocol.md, "Cipher suites").
 * Both Node entries' `createNode` call it; browsers keep XSalsa20-Poly1305.
 */
export function installNodeCiphers (): void {
  installCipherSuite(aes256Gcm({ createCipheriv, createDecipheriv }))
}

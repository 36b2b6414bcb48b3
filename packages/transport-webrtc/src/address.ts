import { InvalidAddressError, isPeerId, parseAddress } from '@hearsay/core'
import type { PeerId } from '@hearsay/core'

export const PROTOCOLS = ['webrtc'] as const

/** `webrtc:<peerId>` → the peer id; anything else is an `InvalidAddressError`. */
export function peerOfAddress (address: string): PeerId {
  const a = parseAddress(address, 'webrtc')
  if (a.protocol !== 'webrtc') throw new InvalidAddressError(`The WebRTC transport cannot dial ${String(address)}`)
  if (!isPeerId(a.name)) throw new InvalidAddressError(`Not a peer id in ${address}: a WebRTC address is webrtc:<peerId>`)
  return a.name
}

/** A listen address is `webrtc:*` (this node's id is filled in) or `webrtc:<own peer id>`. */
export function checkListenAddress (address: string, self: PeerId): void {
  const a = parseAddress(address, 'webrtc')
  if (a.protocol !== 'webrtc' || (a.name !== '*' && a.name !== self)) {
    throw new InvalidAddressError(`The WebRTC transport listens on webrtc:* (or webrtc:<own peer id>), not ${String(address)}`)
  }
}

export function addressOf (peer: PeerId): string { return `webrtc:${peer}` }

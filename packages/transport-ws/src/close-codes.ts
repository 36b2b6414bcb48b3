import { BusyError, ConnectionClosedError, InvalidFrameError, TooLargeError } from '@hearsay/core'

/**
 * How close reasons travel as WebSocket close codes (RFC 6455 §7.4.1). Node sends the standard
 * codes; browsers may only send 1000 and 3000–4999, so they send the same code plus 3000
 * (4009, 4003, 4011, 4013). Both forms are understood on receipt. A node that refuses a
 * connection for load sends 1013 (Try Again Later) with the reason as text (`BusyError`).
 */
export const CLOSE_NORMAL = 1000
export const CLOSE_UNSUPPORTED_DATA = 1003
export const CLOSE_TOO_LARGE = 1009
export const CLOSE_INTERNAL = 1011
export const CLOSE_TRY_AGAIN_LATER = 1013

export function closeCodeFor (reason?: Error): number {
  if (reason === undefined) return CLOSE_NORMAL
  if (reason instanceof TooLargeError) return CLOSE_TOO_LARGE
  if (reason instanceof InvalidFrameError) return CLOSE_UNSUPPORTED_DATA
  if (reason instanceof BusyError) return CLOSE_TRY_AGAIN_LATER
  return CLOSE_INTERNAL
}

/** The application-range form of a code, for runtimes that cannot send the standard ones. */
export function applicationCode (code: number): number {
  return code === CLOSE_NORMAL ? code : code + 3000
}

/** The error a close code stands for; `undefined` for a clean close. */
export function reasonForClose (code: number, text: string): Error | undefined {
  const standard = code >= 4000 && code < 5000 ? code - 3000 : code
  const detail = text === '' ? `code ${code}` : `code ${code}: ${text}`
  switch (standard) {
    case 1000: case 1001: case 1005:
      return undefined
    case CLOSE_TOO_LARGE:
      return new TooLargeError(`The peer closed the connection over a frame above its limit (${detail})`)
    case 1002: case CLOSE_UNSUPPORTED_DATA: case 1007:
      return new InvalidFrameError(`The peer closed the connection over an invalid frame (${detail})`)
    case CLOSE_TRY_AGAIN_LATER:
      // the text is the refusal's reason (`closeText` of a BusyError: its message); keep it short
      return new BusyError(busyReason(text), { cause: new ConnectionClosedError(`The peer closed the connection: try again later (${detail})`) })
    default:
      return new ConnectionClosedError(`The connection closed abnormally (${detail})`)
  }
}

/** The reason of a BusyError from its message (`the remote is busy (<reason>): …`), else the text itself. */
function busyReason (text: string): string {
  const m = /\(([a-z-]{1,40})\)/.exec(text)
  return m?.[1] ?? (text === '' ? 'busy' : text.slice(0, 40))
}

const encoder = new TextEncoder()

/** A close reason text: at most 123 UTF-8 bytes, as the protocol requires. */
export function closeText (reason?: Error): string {
  let text = reason === undefined ? '' : reason.message.slice(0, 123)
  while (encoder.encode(text).length > 123) text = text.slice(0, -1)
  return text
}

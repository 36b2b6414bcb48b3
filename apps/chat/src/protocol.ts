/**
 * The chat's one message: a line of text with the sender's nick, sent with `node.broadcast` to
 * every node of the overlay. The browser page and the terminal chat share this file, so they
 * speak the same protocol. Pure: no DOM, no Node.
 */

/** The message type of a chat line on the hearsay network. */
export const CHAT_TYPE = 'chat'
/** Longest nick, in characters (after cleaning). */
export const MAX_NICK = 32
/** Longest line, in characters (after cleaning). */
export const MAX_TEXT = 2000

export interface ChatLine {
  /** The sender's chosen name; not authenticated (the message's `origin` peer id is). */
  nick: string
  text: string
  /** When it was written, ms since the epoch, by the sender's clock. */
  at: number
}

// C0/C1 control characters (terminal escapes, newlines, NUL) and bidi overrides that could
// make a line impersonate another in a terminal or reorder what a page shows
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g

/** `s` without control characters, trimmed, at most `max` characters (by code point). */
export function clean (s: string, max: number): string {
  // a peer may send up to a frame's worth: cut before splitting into code points
  const head = s.length > max * 4 ? s.slice(0, max * 4) : s
  return [...head.replace(UNSAFE, ' ').trim()].slice(0, max).join('').trim()
}

/** A nick from user input; `fallback` when nothing is left of it. */
export function cleanNick (s: string, fallback: string): string {
  const nick = clean(s, MAX_NICK)
  return nick === '' ? clean(fallback, MAX_NICK) : nick
}

/** A chat line ready to broadcast, or undefined when the text is empty once cleaned. */
export function chatLine (nick: string, text: string, at = Date.now()): ChatLine | undefined {
  const t = clean(text, MAX_TEXT)
  if (t === '') return undefined
  return { nick: cleanNick(nick, 'anonymous'), text: t, at }
}

/**
 * A received chat line, checked and cleaned: undefined for anything that is not
 * `{ nick: string, text: string, at: number }` with a non-empty text. Peers may send anything.
 */
export function parseChatLine (data: unknown): ChatLine | undefined {
  if (typeof data !== 'object' || data === null) return undefined
  const { nick, text, at } = data as Record<string, unknown>
  if (typeof nick !== 'string' || typeof text !== 'string' || typeof at !== 'number' || !Number.isFinite(at)) return undefined
  return chatLine(nick, text, at)
}

/** A short, readable form of a peer id for display. */
export function shortId (id: string): string {
  return id.slice(0, 8)
}

/** The default nick of a node: `guest-` and the start of its id. */
export function defaultNick (id: string): string {
  return `guest-${id.slice(0, 4)}`
}

import { describe, expect, it } from 'vitest'
import { CHAT_TYPE, chatLine, clean, cleanNick, defaultNick, MAX_NICK, MAX_TEXT, parseChatLine, shortId } from '../src/protocol.js'

describe('chat protocol', () => {
  it('a line carries nick, text and time under the type "chat"', () => {
    expect(CHAT_TYPE).toBe('chat')
    expect(chatLine('alice', ' hi there ', 42)).toEqual({ nick: 'alice', text: 'hi there', at: 42 })
    expect(chatLine('alice', '   ')).toBeUndefined()
  })

  it('parseChatLine accepts well-formed lines and rejects everything else', () => {
    expect(parseChatLine({ nick: 'bob', text: 'yo', at: 1 })).toEqual({ nick: 'bob', text: 'yo', at: 1 })
    for (const bad of [null, undefined, 'text', 5, [], {}, { nick: 'b', text: 'x' }, { nick: 1, text: 'x', at: 1 },
      { nick: 'b', text: ['x'], at: 1 }, { nick: 'b', text: 'x', at: Number.NaN }, { nick: 'b', text: 'x', at: '1' }, { nick: 'b', text: '\n\t', at: 1 }]) {
      expect(parseChatLine(bad), JSON.stringify(bad)).toBeUndefined()
    }
  })

  it('strips control characters and bidi overrides, and caps lengths by code point', () => {
    expect(clean('a\x1b[31mred\x00\nb', 100)).toBe('a [31mred  b')
    expect(clean('\u202Eevil', 100)).toBe('evil')
    expect([...clean('😀'.repeat(MAX_NICK + 5), MAX_NICK)]).toHaveLength(MAX_NICK)
    const long = parseChatLine({ nick: 'n'.repeat(1000), text: 'x'.repeat(200_000), at: 1 })!
    expect(long.nick).toHaveLength(MAX_NICK)
    expect(long.text).toHaveLength(MAX_TEXT)
  })

  it('an empty nick falls back; ids shorten for display', () => {
    expect(cleanNick('  \x07 ', 'guest-abcd')).toBe('guest-abcd')
    expect(parseChatLine({ nick: '', text: 'x', at: 1 })?.nick).toBe('anonymous')
    expect(defaultNick('abcdefgh')).toBe('guest-abcd')
    expect(shortId('abcdefghijk')).toBe('abcdefgh')
  })
})

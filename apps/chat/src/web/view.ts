/**
 * The chat page's DOM: the message list, the status line, the counters and the two forms. Text
 * from peers only ever goes into text nodes (never markup). Holds no hearsay state.
 */
import { shortId } from '../protocol.js'
import type { ChatLine } from '../protocol.js'

/** Most lines kept in the list; older ones are removed. */
export const MAX_LINES = 500

function byId<T extends HTMLElement> (id: string): T {
  const el = document.getElementById(id)
  if (el === null) throw new Error(`the chat page has no #${id}`)
  return el as T
}

export class ChatView {
  private readonly messages = byId<HTMLOListElement>('messages')
  private readonly status = byId<HTMLElement>('status')
  private readonly text = byId<HTMLInputElement>('text')
  private readonly send = byId<HTMLButtonElement>('send')
  private readonly nick = byId<HTMLInputElement>('nick')

  /** Calls `onSend(text)` for each line submitted; the input is cleared. */
  onSend (handler: (text: string) => void): void {
    byId<HTMLFormElement>('send-form').addEventListener('submit', (e) => {
      e.preventDefault()
      const text = this.text.value
      this.text.value = ''
      handler(text)
    })
  }

  /** Calls `onNick(name)` when the name field changes; the handler returns the name to show. */
  onNick (handler: (nick: string) => string): void {
    const commit = (): void => { this.nick.value = handler(this.nick.value) }
    this.nick.addEventListener('change', commit)
    byId<HTMLFormElement>('nick-form').addEventListener('submit', (e) => { e.preventDefault(); commit() })
  }

  setNick (nick: string): void { this.nick.value = nick }

  setIdentity (id: string): void {
    const el = byId<HTMLElement>('peer-id')
    el.textContent = id
    el.dataset.peerId = id
  }

  setStatus (state: 'starting' | 'connecting' | 'online' | 'offline' | 'failed', text: string): void {
    this.status.dataset.state = state
    this.status.textContent = text
    const usable = state !== 'starting' && state !== 'failed'
    this.text.disabled = !usable
    this.send.disabled = !usable
  }

  setPeerCount (n: number): void { byId<HTMLElement>('peer-count').textContent = String(n) }

  setKnownCount (n: number): void { byId<HTMLElement>('known-count').textContent = String(n) }

  addLine (line: ChatLine, from: string, own: boolean): void {
    const li = document.createElement('li')
    li.className = own ? 'own' : 'peer'
    li.dataset.from = from
    const time = document.createElement('span')
    time.className = 'time'
    time.textContent = new Date(line.at).toTimeString().slice(0, 5)
    const nick = document.createElement('span')
    nick.className = 'nick'
    nick.textContent = line.nick
    const who = document.createElement('small')
    who.textContent = shortId(from)
    who.title = from
    nick.append(who)
    const text = document.createElement('span')
    text.className = 'text'
    text.textContent = line.text
    li.append(time, nick, text)
    this.append(li)
  }

  notice (text: string): void {
    const li = document.createElement('li')
    li.className = 'notice'
    li.textContent = text
    this.append(li)
  }

  private append (li: HTMLLIElement): void {
    const atBottom = this.messages.scrollHeight - this.messages.scrollTop - this.messages.clientHeight < 40
    this.messages.append(li)
    while (this.messages.childElementCount > MAX_LINES) this.messages.firstElementChild?.remove()
    if (atBottom) li.scrollIntoView({ block: 'end' })
  }
}

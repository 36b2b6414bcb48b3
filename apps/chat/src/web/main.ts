/**
 * The browser chat page: a hearsay node from `hearsay`'s browser entry (WebSocket transport,
 * IndexedDB store, so the peer id and the known peers survive a reload), joined through the
 * relay that served the page, broadcasting chat lines to every node of the network.
 *
 * Query parameters: `seed=<address>` (repeatable; `seed=` alone means no seed: join through the
 * peers stored in IndexedDB only), `store=<name>` (the IndexedDB database; default `hearsay`).
 * `window.hearsayChat` exposes the node for the devtools console and the e2e tests.
 */
import { createNode } from 'hearsay'
import type { HearsayNode, InboundMessage, Logger } from 'hearsay'
import { CHAT_TYPE, chatLine, cleanNick, defaultNick, parseChatLine } from '../protocol.js'
import type {} from './globals.js'
import { ChatView } from './view.js'


const NICK_KEY = 'hearsay-chat.nick'
const KNOWN_REFRESH_MS = 5_000
const params = new URLSearchParams(location.search)
const view = new ChatView()

/** The page's seeds: `?seed=` values, else the WebSocket endpoint of the server that served the page. */
function seeds (): string[] {
  if (params.has('seed')) return params.getAll('seed').filter(s => s.trim() !== '')
  return [`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`]
}

const logger: Logger = {
  debug: () => {},
  info: () => {},
  warn: (msg) => { console.warn(`hearsay: ${msg}`); view.notice(msg) },
  error: (msg) => { console.warn(`hearsay: ${msg}`); view.notice(msg) }
}

function storedNick (): string | undefined {
  try { return localStorage.getItem(NICK_KEY) ?? undefined } catch { return undefined }
}

function saveNick (nick: string): void {
  try { localStorage.setItem(NICK_KEY, nick) } catch { /* private mode: the name lasts for this page only */ }
}

async function knownPeers (node: HearsayNode): Promise<Array<{ address: string, peerId: string | null }>> {
  const out: Array<{ address: string, peerId: string | null }> = []
  for await (const r of node.store.known()) out.push({ address: r.address, peerId: r.peerId })
  return out
}

async function main (): Promise<void> {
  const store = params.get('store') ?? undefined
  const node = createNode({ seeds: seeds(), logger, ...(store === undefined || store === '' ? {} : { store }) })
  view.setStatus('starting', 'starting…')
  await node.start()
  window.hearsayChat = { node, knownPeers: async () => await knownPeers(node) }
  view.setIdentity(node.id)

  let nick = cleanNick(storedNick() ?? '', defaultNick(node.id))
  view.setNick(nick)
  view.onNick((value) => {
    nick = cleanNick(value, nick)
    saveNick(nick)
    return nick
  })

  const refreshCounts = (): void => {
    view.setPeerCount(node.peers().length)
    knownPeers(node).then(k => { view.setKnownCount(k.length) }, () => {})
  }
  const showStatus = (): void => {
    const n = node.peers().length
    if (n > 0) view.setStatus('online', `online · ${n} connected`)
    else view.setStatus('connecting', 'connecting…')
  }
  node.on('peer:connect', () => { showStatus(); refreshCounts() })
  node.on('peer:disconnect', () => { showStatus(); refreshCounts() })
  node.on('offline', () => { view.setStatus('offline', 'offline · reconnecting…') })
  node.every(KNOWN_REFRESH_MS, refreshCounts)
  showStatus()
  refreshCounts()

  node.route(CHAT_TYPE, (msg: InboundMessage) => {
    const line = parseChatLine(msg.data)
    if (line !== undefined) view.addLine(line, msg.origin, false)
  })
  view.onSend((text) => {
    const line = chatLine(nick, text)
    if (line === undefined) return
    node.broadcast(CHAT_TYPE, line)
    view.addLine(line, node.id, true)
  })

  // writes the last stats and releases the IndexedDB lock, so a reload gets the same store back
  addEventListener('pagehide', () => { void node.stop() })
}

main().catch((err: unknown) => {
  const e = err as Error & { code?: string }
  view.setStatus('failed', `could not start: ${e.code === undefined ? '' : `${e.code}: `}${e.message}`)
  console.warn(err)
})

#!/usr/bin/env node
/**
 * `hearsay-chat`: the terminal chat. Joins the hearsay network through its seeds (the relay by
 * default), prints the chat lines other nodes broadcast and broadcasts each line typed. Works
 * with a pipe as stdin too (one message per line; end of input quits), which the tests use.
 * Exit codes: 0 after /quit, end of input, SIGINT or SIGTERM; 1 when the node cannot start;
 * 2 for a bad flag.
 */
import { readFile } from 'node:fs/promises'
import os from 'node:os'
import { createInterface } from 'node:readline'
import { createNode, memoryStore } from 'hearsay'
import type { HearsayNode, InboundMessage, Logger } from 'hearsay'
import { CHAT_TYPE, chatLine, cleanNick, defaultNick, parseChatLine, shortId } from './protocol.js'
import { ArgsError, parseTerminalArgs, USAGE } from './terminal-args.js'
import type { TerminalOptions } from './terminal-args.js'

const interactive = process.stdin.isTTY === true && process.stdout.isTTY === true
const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: interactive })
// lines typed (or piped) while the node starts wait in the stream until the handler is there
rl.pause()

/** Prints a line above the prompt (the line being typed is redrawn after it). */
function print (text: string): void {
  if (interactive) {
    process.stdout.write('\r\x1b[2K')
    process.stdout.write(`${text}\n`)
    rl.prompt(true)
  } else {
    process.stdout.write(`${text}\n`)
  }
}

const logger: Logger = {
  debug: () => {},
  info: () => {},
  warn: (msg, fields) => { print(`! ${msg}${fields?.err instanceof Error ? `: ${fields.err.message}` : ''}`) },
  error: (msg, fields) => { print(`! ${msg}${fields?.err instanceof Error ? `: ${fields.err.message}` : ''}`) }
}

function time (at: number): string {
  return new Date(at).toTimeString().slice(0, 5)
}

async function run (options: TerminalOptions): Promise<void> {
  const networkKey = options.networkKeyFile === undefined ? undefined : (await readFile(options.networkKeyFile, 'utf8')).trim()
  const node: HearsayNode = createNode({
    seeds: options.seeds,
    store: options.data ?? memoryStore(),
    ...(networkKey === undefined ? {} : { networkKey }),
    logger
  })
  let stopping: Promise<void> | undefined
  const quit = (code: number): void => {
    stopping ??= node.stop().then(() => { process.exit(code) }, () => { process.exit(1) })
  }
  process.on('SIGINT', () => { quit(0) })
  process.on('SIGTERM', () => { quit(0) })
  rl.on('close', () => { quit(0) })
  await node.start()
  let nick = cleanNick(options.nick ?? process.env.USER ?? os.userInfo().username, defaultNick(node.id))
  print(`* you are ${nick} (${node.id}); joining through ${options.seeds.join(', ')}`)

  node.route(CHAT_TYPE, (msg: InboundMessage) => {
    const line = parseChatLine(msg.data)
    if (line === undefined) return
    print(`[${time(line.at)}] <${line.nick}@${shortId(msg.origin)}> ${line.text}`)
  })
  node.on('online', () => { print(`* online: ${node.peers().length} peer(s) connected`) })
  node.on('offline', () => { if (stopping === undefined) print('* offline: no peers; retrying') })
  node.on('peer:connect', (p) => { print(`* connected to ${shortId(p.id)} at ${p.address}`) })
  node.on('peer:disconnect', ({ peer }) => { if (stopping === undefined) print(`* disconnected from ${shortId(peer.id)}`) })

  rl.setPrompt('> ')
  if (interactive) rl.prompt()
  rl.on('line', (input) => {
    const text = input.trim()
    if (text === '/quit') { rl.close(); return }
    if (text === '/peers') {
      const peers = node.peers()
      print(`* ${peers.length} peer(s): ${peers.map(p => `${shortId(p.id)} ${p.address}`).join(', ') || 'none'}`)
    } else if (text.startsWith('/nick ')) {
      nick = cleanNick(text.slice(6), nick)
      print(`* you are now ${nick}`)
    } else {
      const line = chatLine(nick, text)
      if (line !== undefined) {
        if (node.peers().length === 0) print('* not connected yet: the line goes to nobody')
        node.broadcast(CHAT_TYPE, line)
        if (!interactive) print(`[${time(line.at)}] <${line.nick}@${shortId(node.id)}> ${line.text}`)
      }
    }
    if (interactive) rl.prompt()
  })
  rl.resume()
}

let command
try {
  command = parseTerminalArgs(process.argv.slice(2), process.env)
} catch (err) {
  if (!(err instanceof ArgsError)) throw err
  process.stderr.write(`hearsay-chat: ${err.message}\n\n${USAGE}\n`)
  process.exit(2)
}
if (command.action === 'help') {
  process.stdout.write(`${USAGE}\n`)
  process.exit(0)
} else {
  run(command.options).catch((err: unknown) => {
    process.stderr.write(`hearsay-chat: cannot start: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exit(1)
  })
}

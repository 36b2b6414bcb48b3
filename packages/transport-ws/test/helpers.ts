import { createServer } from 'node:net'
import type { Connection } from '@hearsay/core'

/** A port on 127.0.0.1 that was just opened and closed, so nothing listens there. */
export async function deadPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise(resolve => server.close(resolve))
  return port
}

export interface Collected { frames: Uint8Array[], closes: Array<Error | undefined>, closed: Promise<Error | undefined> }

/** Installs handlers that record frames and closes; `closed` resolves with the first close reason. */
export function collect (conn: Connection): Collected {
  let onClosed: (r: Error | undefined) => void = () => {}
  const got: Collected = { frames: [], closes: [], closed: new Promise(resolve => { onClosed = resolve }) }
  conn.setHandlers({
    onMessage: f => got.frames.push(f),
    onClose: r => { got.closes.push(r); onClosed(r) }
  })
  return got
}

/** Resolves with the first connection a listener callback receives. */
export function nextConnection (): { accept: (c: Connection) => void, accepted: Promise<Connection> } {
  let accept: (c: Connection) => void = () => {}
  const accepted = new Promise<Connection>(resolve => { accept = resolve })
  return { accept, accepted }
}

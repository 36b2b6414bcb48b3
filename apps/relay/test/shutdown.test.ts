import { describe, expect, it } from 'vitest'
import { jsonLogger } from '@hearsay/core'
import { createShutdown, DUPLICATE_SIGNAL_WINDOW_MS } from '../src/shutdown.js'

function harness (stopResult: 'ok' | 'fail' | 'hang' = 'ok') {
  let t = 1_000
  const exits: number[] = []
  const lines: Array<{ level: string, msg: string, signal?: string }> = []
  let stops = 0
  const onSignal = createShutdown({
    stop: async () => {
      stops++
      if (stopResult === 'fail') throw new Error('listener would not close')
      if (stopResult === 'hang') await new Promise(() => {})
    },
    exit: (code) => { exits.push(code) },
    logger: jsonLogger({ level: 'debug', write: (l) => { lines.push(JSON.parse(l) as { level: string, msg: string }) } }),
    now: () => t
  })
  return { onSignal, exits, lines, stops: () => stops, advance: (ms: number) => { t += ms } }
}

const settle = async (): Promise<void> => { await new Promise(resolve => setImmediate(resolve)) }

describe('relay shutdown on signals', () => {
  it('the first signal stops the relay, then exits 0', async () => {
    const h = harness()
    h.onSignal('SIGTERM')
    await settle()
    expect(h.stops()).toBe(1)
    expect(h.exits).toEqual([0])
    expect(h.lines[0]).toMatchObject({ level: 'info', msg: 'relay stopping', signal: 'SIGTERM' })
  })

  it('exits 1 when stopping fails', async () => {
    const h = harness('fail')
    h.onSignal('SIGINT')
    await settle()
    expect(h.exits).toEqual([1])
    expect(h.lines.at(-1)).toMatchObject({ level: 'error', msg: 'relay stop failed' })
  })

  it('a second signal during a slow stop forces exit 1', async () => {
    const h = harness('hang')
    h.onSignal('SIGTERM')
    h.advance(DUPLICATE_SIGNAL_WINDOW_MS + 1)
    h.onSignal('SIGINT')
    await settle()
    expect(h.stops()).toBe(1)
    expect(h.exits).toEqual([1])
    expect(h.lines.at(-1)).toMatchObject({ level: 'warn', signal: 'SIGINT' })
  })

  it('the same request delivered twice at once (npm forwarding a group signal) is not a second signal', async () => {
    const h = harness('hang')
    h.onSignal('SIGINT')
    h.advance(5)
    h.onSignal('SIGINT')
    await settle()
    expect(h.stops()).toBe(1)
    expect(h.exits).toEqual([])
    expect(h.lines.at(-1)).toMatchObject({ level: 'debug', signal: 'SIGINT' })
  })
})

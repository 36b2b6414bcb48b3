import { existsSync } from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'
import { peerStoreCompliance } from '@hearsay/core/compliance'
import type { PeerStore } from '@hearsay/core'
import { levelStore } from '../src/index.js'
import { tempDirs } from './helpers.js'

describe('levelStore (Node, classic-level): compliance', () => {
  const tmp = tempDirs()
  const opened: PeerStore[] = []
  afterAll(async () => {
    // every case closes its stores; closing again is a no-op and covers a case that threw early
    for (const s of opened) await s.close()
    tmp.cleanup()
    expect(existsSync(tmp.root)).toBe(false)
  })
  for (const c of peerStoreCompliance({
    open: async ({ location, now, tombstoneMs }) => {
      const s = levelStore({ location, now, tombstoneMs })
      opened.push(s)
      await s.open()
      return s
    },
    location: () => tmp.dir(),
    supports: { persistence: true }
  })) it(c.name, c.fn)
})

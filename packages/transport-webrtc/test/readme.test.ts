/** The README's example, run as written (inside the test's network namespace). */
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { runReadmeExample } from '../../../test-support/readme-example.js'
import { inNetns } from './helpers.js'

const here = path.dirname(fileURLToPath(import.meta.url))

describe.skipIf(!inNetns)('README', () => {
  it('the example connects alice and bob through the relay and they keep talking without it', async () => {
    const work = mkdtempSync(path.join(os.tmpdir(), 'webrtc-readme-'))
    try {
      const logs = await runReadmeExample({ testDir: here, workDir: work, importFrom: '@hearsay/transport-webrtc', importTo: '../src/index.node.js' })
      const text = logs.map(l => l.join(' '))
      expect(text[0]).toMatch(/^alice listens on webrtc:[a-z2-7]{52}$/)
      expect(text[1]).toMatch(/^bob reached alice over webrtc:[a-z2-7]{52}$/)
      expect(text[2]).toBe('alice got: no relay needed any more')
    } finally { rmSync(work, { recursive: true, force: true }) }
  })
})

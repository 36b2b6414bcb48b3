import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/** Temporary directories for stores under one root, deleted by `cleanup()`. */
export function tempDirs (label = 'hearsay-store-'): { root: string, dir: () => string, cleanup: () => void } {
  const root = mkdtempSync(path.join(os.tmpdir(), label))
  let n = 0
  return {
    root,
    dir: () => path.join(root, `db-${n++}`),
    cleanup: () => { rmSync(root, { recursive: true, force: true }) }
  }
}

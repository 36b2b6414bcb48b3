#!/usr/bin/env node
// hearsay-relay's pack step: the published relay serves the chat demo from `chat/` of its own
// package, so `prepack` copies the built page (apps/chat/dist/web, made by `pnpm build`) there
// and `postpack` removes it again (in the checkout the relay serves apps/chat/dist/web).
// Usage: node scripts/pack-relay-chat.mjs copy|remove
import { cpSync, existsSync, rmSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const from = path.join(root, 'apps', 'chat', 'dist', 'web')
const to = path.join(root, 'apps', 'relay', 'chat')
const mode = process.argv[2]

if (mode === 'copy') {
  if (!existsSync(path.join(from, 'index.html'))) {
    console.error(`pack-relay-chat: ${path.relative(root, from)} is not built; run pnpm build first`)
    process.exit(1)
  }
  rmSync(to, { recursive: true, force: true })
  cpSync(from, to, { recursive: true, filter: (src) => !src.endsWith('.map') })
} else if (mode === 'remove') {
  rmSync(to, { recursive: true, force: true })
} else {
  console.error('usage: node scripts/pack-relay-chat.mjs copy|remove')
  process.exit(2)
}

/**
 * Serves the files of one flat directory (the chat demo's build, the status page): `/` is
 * `index.html`, `/<name>` is that file. Names are one path segment of `[A-Za-z0-9._-]` that does
 * not start with a dot, so no request can leave the directory (no `/`, `..`, `%2f` or dotfiles)
 * and nothing is looked up for names that cannot exist.
 */
import { readFile } from 'node:fs/promises'
import path from 'node:path'

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8'
}

const NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/

export interface StaticFile {
  body: Buffer
  contentType: string
}

/** The file of `dir` that `urlPath` names, or undefined when there is none (or the name is not allowed). */
export async function readStatic (dir: string, urlPath: string): Promise<StaticFile | undefined> {
  const name = urlPath === '/' ? 'index.html' : urlPath.slice(1)
  if (!urlPath.startsWith('/') || !NAME.test(name)) return undefined
  const contentType = TYPES[path.extname(name).toLowerCase()]
  if (contentType === undefined) return undefined
  try {
    return { body: await readFile(path.join(dir, name)), contentType }
  } catch (err) {
    const code = (err as { code?: unknown }).code
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') return undefined
    throw err
  }
}

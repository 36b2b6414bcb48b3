/**
 * Shared e2e fixtures: browser bundles of `e2e/pages/<name>.ts` built with esbuild's JS API and
 * served with a one-line HTML page from a tiny static server on 127.0.0.1 (one per worker).
 *
 *   import { test, expect } from './fixtures.js'
 *   test.use({ bundle: 'core-compliance' })
 *   test('…', async ({ app }) => { app.page; app.baseURL; app.errors })
 *
 * or, for several pages in one test: `const b = await openBundle('name', await context.newPage())`.
 *
 * Bundles are plain browser ESM: workspace packages resolve to their TypeScript source through the
 * `source` export condition, and there are deliberately no Buffer/process/global shims. A bundle
 * that needs one, or pulls in a node built-in, is a bug in the bundled package.
 */
import { test as base, expect, type Page } from '@playwright/test'
import * as esbuild from 'esbuild'
import http from 'node:http'
import { builtinModules } from 'node:module'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export { expect }

const e2eRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const pagesDir = path.join(e2eRoot, 'pages')

export interface Bundle {
  name: string
  code: string
  metafile: esbuild.Metafile
}

const buildOptions: esbuild.BuildOptions = {
  absWorkingDir: e2eRoot,
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  conditions: ['source', 'browser'],
  sourcemap: 'inline',
  write: false,
  metafile: true,
  logLevel: 'silent'
}

async function build (name: string, opts: esbuild.BuildOptions): Promise<Bundle> {
  let result: esbuild.BuildResult<{ write: false, metafile: true }>
  try {
    result = await esbuild.build({ ...buildOptions, ...opts, write: false, metafile: true })
  } catch (err) {
    const errors = (err as { errors?: esbuild.Message[] }).errors
    const text = errors === undefined ? String(err) : (await esbuild.formatMessages(errors, { kind: 'error' })).join('\n')
    throw new Error(`esbuild could not bundle ${name} for the browser:\n${text}`)
  }
  const js = result.outputFiles.find(f => f.path.endsWith('.js'))
  if (js === undefined) throw new Error(`esbuild produced no JavaScript for ${name}`)
  return { name, code: js.text, metafile: result.metafile }
}

/**
 * Pages built as an application ships them: minified, tree-shaken, no source map. The bundle
 * budget (hearsay-browser.spec.ts, on `hearsay-lite`) is asserted on the very bytes the static
 * server sends Chromium for these.
 */
export const SHIPPED_PAGES: ReadonlySet<string> = new Set(['hearsay-browser', 'hearsay-lite'])

/** Bundles `e2e/pages/<name>.ts` for the browser (minified when it is in `SHIPPED_PAGES`). */
export async function buildPage (name: string): Promise<Bundle> {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new Error(`bad bundle name ${JSON.stringify(name)}`)
  const shipped = SHIPPED_PAGES.has(name) ? { minify: true, sourcemap: false } : {}
  return await build(name, { entryPoints: [path.join(pagesDir, `${name}.ts`)], outfile: path.join(e2eRoot, '.artifacts', 'bundles', `${name}.js`), ...shipped })
}

/** Bundles everything a module specifier exports (e.g. '@hearsay/core') for the browser. */
export async function buildModule (specifier: string): Promise<Bundle> {
  return await build(specifier, {
    stdin: { contents: `export * from ${JSON.stringify(specifier)}`, resolveDir: e2eRoot, sourcefile: 'module-entry.js', loader: 'js' },
    outfile: path.join(e2eRoot, '.artifacts', 'bundles', 'module.js')
  })
}

/**
 * Bundles `contents` (an ES module entry importing workspace packages) for the browser, minified
 * and without a source map: what an application would ship. For size measurements.
 */
export async function buildMinified (name: string, contents: string): Promise<Bundle> {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new Error(`bad bundle name ${JSON.stringify(name)}`)
  return await build(name, {
    stdin: { contents, resolveDir: e2eRoot, sourcefile: `${name}-entry.js`, loader: 'js' },
    outfile: path.join(e2eRoot, '.artifacts', 'bundles', `${name}.min.js`),
    minify: true,
    sourcemap: false
  })
}

const builtins = new Set(builtinModules.flatMap(m => [m, `node:${m}`]))

/** Node built-ins a bundle reaches: `node:` inputs, imports of built-ins, `require("<built-in>")`. */
export function nodeBuiltinReferences (bundle: Bundle): string[] {
  const found = new Set<string>()
  for (const [input, info] of Object.entries(bundle.metafile.inputs)) {
    if (input.startsWith('node:') || builtins.has(input)) found.add(`input ${input}`)
    for (const imp of info.imports) {
      if (imp.path.startsWith('node:') || builtins.has(imp.path)) found.add(`${input} imports ${imp.path}`)
    }
  }
  for (const m of bundle.code.matchAll(/\brequire\(\s*["'`]([^"'`]+)["'`]\s*\)/g)) {
    if (builtins.has(m[1]!)) found.add(`require(${JSON.stringify(m[1])})`)
  }
  return [...found]
}

export interface StaticServer {
  /** e.g. `http://127.0.0.1:41234` */
  baseURL: string
  /** Builds (once per worker) the bundle that `/<name>.js` serves. */
  bundle: (name: string) => Promise<Bundle>
}

async function startServer (): Promise<{ server: StaticServer, close: () => Promise<void> }> {
  const cache = new Map<string, Promise<Bundle>>()
  const bundle = async (name: string): Promise<Bundle> => {
    let p = cache.get(name)
    if (p === undefined) {
      p = buildPage(name)
      cache.set(name, p)
      p.catch(() => cache.delete(name))
    }
    return await p
  }
  const send = (res: http.ServerResponse, status: number, type: string, body: string): void => {
    res.writeHead(status, { 'content-type': `${type}; charset=utf-8`, 'cache-control': 'no-store' })
    res.end(body)
  }
  const httpServer = http.createServer((req, res) => {
    const { pathname } = new URL(req.url ?? '/', 'http://localhost')
    if (pathname === '/favicon.ico') { res.writeHead(204).end(); return }
    const m = /^\/([a-z0-9][a-z0-9-]*)\.(html|js)$/.exec(pathname)
    if (m === null) { send(res, 404, 'text/plain', 'not found'); return }
    const [, name, ext] = m as unknown as [string, string, string]
    if (ext === 'html') {
      send(res, 200, 'text/html', `<!doctype html>\n<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>${name}</title>` +
        `<script type="module" src="/${name}.js"></script></head><body></body></html>\n`)
      return
    }
    bundle(name).then(
      b => send(res, 200, 'text/javascript', b.code),
      err => send(res, 500, 'text/plain', String(err))
    )
  })
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject)
    httpServer.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = httpServer.address() as AddressInfo
  return {
    server: { baseURL: `http://127.0.0.1:${port}`, bundle },
    close: async () => {
      httpServer.closeAllConnections()
      await new Promise<void>(resolve => httpServer.close(() => resolve()))
    }
  }
}

export interface LoadedBundle {
  baseURL: string
  page: Page
  /** Uncaught page errors and console errors seen since the page was opened. */
  errors: string[]
  bundle: Bundle
}

/** Collects uncaught errors and console errors of `page` into the returned array. */
export function collectErrors (page: Page): string[] {
  const errors: string[] = []
  page.on('pageerror', err => errors.push(`pageerror: ${err.stack ?? err.message}`))
  page.on('console', msg => { if (msg.type() === 'error') errors.push(`console.error: ${msg.text()}`) })
  page.on('crash', () => errors.push('page crashed'))
  return errors
}

interface TestFixtures {
  /** The bundle `app` loads: `test.use({ bundle: 'core-compliance' })` for `e2e/pages/core-compliance.ts`. */
  bundle: string | undefined
  /** Loads a named bundle into `page` (default: the test's page) and returns it with its error log. */
  openBundle: (name: string, page?: Page) => Promise<LoadedBundle>
  /** The test's page with the `bundle` option loaded. */
  app: LoadedBundle
}

interface WorkerFixtures {
  staticServer: StaticServer
}

export const test = base.extend<TestFixtures, WorkerFixtures>({
  staticServer: [async ({}, use) => {
    const { server, close } = await startServer()
    try { await use(server) } finally { await close() }
  }, { scope: 'worker' }],

  bundle: [undefined, { option: true }],

  openBundle: async ({ staticServer, page }, use) => {
    await use(async (name, target = page) => {
      const bundle = await staticServer.bundle(name) // build errors surface here, not as a blank page
      const errors = collectErrors(target)
      await target.goto(`${staticServer.baseURL}/${name}.html`, { waitUntil: 'load' })
      return { baseURL: staticServer.baseURL, page: target, errors, bundle }
    })
  },

  app: async ({ bundle, openBundle }, use) => {
    if (bundle === undefined) throw new Error("the app fixture needs test.use({ bundle: '<name of e2e/pages/*.ts>' })")
    await use(await openBundle(bundle))
  }
})

#!/usr/bin/env node
/**
 * Builds the browser chat page: esbuild bundles `src/web/main.ts` (which imports `hearsay`'s
 * browser entry) into `chat.js`, and `web/index.html` and `web/chat.css` are copied next to it.
 * No `inject`, `alias` or `define` shims for Buffer, process or global: a bundle that reaches a
 * Node built-in fails the build instead. The root `pnpm build` runs this after `tsc -b`
 * (`node apps/chat/dist/bundle.js` → `apps/chat/dist/web/`), and the relay serves that directory.
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises'
import { builtinModules } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import * as esbuild from 'esbuild'

/** The package root: one level above both `src/` and `dist/`. */
const ROOT = fileURLToPath(new URL('..', import.meta.url))
/** Where `pnpm build` writes the page: what the relay serves by default. */
export const DEFAULT_OUTDIR = path.join(ROOT, 'dist', 'web')
const STATIC_FILES = ['index.html', 'chat.css']

export interface BundleOptions {
  /** @default apps/chat/dist/web */
  outdir?: string
  /**
   * Export conditions. The default, `['browser']`, bundles the packages' built `dist/` (what an
   * application gets from npm); `['source', 'browser']` bundles their TypeScript sources (tests).
   * @default ['browser']
   */
  conditions?: string[]
  /** @default true */
  minify?: boolean
}

export interface BundleResult {
  outdir: string
  /** Files written, relative to `outdir`. */
  files: string[]
  /** Size of `chat.js`, and gzipped (level 9). */
  bytes: number
  gzipBytes: number
  metafile: esbuild.Metafile
}

const builtins = new Set(builtinModules.flatMap(m => [m, `node:${m}`]))

/** Bundles the page into `outdir`. Rejects with esbuild's formatted messages, or when a Node built-in is reached. */
export async function bundleChat (options: BundleOptions = {}): Promise<BundleResult> {
  const outdir = path.resolve(options.outdir ?? DEFAULT_OUTDIR)
  await mkdir(outdir, { recursive: true })
  let result: esbuild.BuildResult<{ metafile: true, write: false }>
  try {
    result = await esbuild.build({
      absWorkingDir: ROOT,
      entryPoints: [path.join(ROOT, 'src', 'web', 'main.ts')],
      outfile: path.join(outdir, 'chat.js'),
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      conditions: options.conditions ?? ['browser'],
      minify: options.minify ?? true,
      sourcemap: false,
      legalComments: 'none',
      metafile: true,
      write: false,
      logLevel: 'silent'
    })
  } catch (err) {
    const errors = (err as { errors?: esbuild.Message[] }).errors
    const text = errors === undefined ? String(err) : (await esbuild.formatMessages(errors, { kind: 'error' })).join('\n')
    throw new Error(`esbuild could not bundle the chat page:\n${text}`, { cause: err })
  }
  const reached = Object.entries(result.metafile.inputs).flatMap(([input, info]) =>
    [input, ...info.imports.map(i => i.path)].filter(p => p.startsWith('node:') || builtins.has(p)).map(p => `${input} → ${p}`))
  if (reached.length > 0) throw new Error(`the chat page reaches Node built-ins:\n${reached.join('\n')}`)
  const js = result.outputFiles.find(f => f.path.endsWith('.js'))
  if (js === undefined) throw new Error('esbuild produced no JavaScript for the chat page')
  await writeFile(js.path, js.contents)
  for (const name of STATIC_FILES) await copyFile(path.join(ROOT, 'web', name), path.join(outdir, name))
  return {
    outdir,
    files: ['chat.js', ...STATIC_FILES],
    bytes: js.contents.byteLength,
    gzipBytes: gzipSync(js.contents, { level: 9 }).byteLength,
    metafile: result.metafile
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outdir = process.argv[2]
  bundleChat(outdir === undefined ? {} : { outdir }).then(
    (r) => { console.log(`chat: bundled ${path.relative(process.cwd(), r.outdir) || '.'}/chat.js: ${r.bytes} bytes, ${r.gzipBytes} gzip`) },
    (err: unknown) => { console.error(err instanceof Error ? err.message : String(err)); process.exitCode = 1 }
  )
}

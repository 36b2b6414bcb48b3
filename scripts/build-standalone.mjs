#!/usr/bin/env node
// The standalone browser modules of `hearsay`: one minified ES module file per entry, every
// dependency inside, for a plain `<script type="module">` or a CDN with no bundler and no import
// map: packages/hearsay/dist/hearsay.min.js (the main browser entry, with WebRTC) and
// dist/lite.min.js (hearsay/lite). Built from the compiled dist/ (the browser condition, as an
// application's bundler would), so it runs after `tsc -b`; `pnpm build` runs it.
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import * as esbuild from 'esbuild'

const pkg = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'packages', 'hearsay')
const version = JSON.parse((await import('node:fs')).readFileSync(path.join(pkg, 'package.json'), 'utf8')).version

export const STANDALONE = [
  { entry: 'dist/main.browser.js', out: 'dist/hearsay.min.js', name: 'hearsay' },
  { entry: 'dist/index.browser.js', out: 'dist/lite.min.js', name: 'hearsay/lite' }
]

for (const { entry, out, name } of STANDALONE) {
  const result = await esbuild.build({
    absWorkingDir: pkg,
    entryPoints: [path.join(pkg, entry)],
    outfile: path.join(pkg, out),
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    conditions: ['browser'],
    legalComments: 'eof',
    banner: { js: `/*! ${name} ${version} | MIT | standalone ES module: import { createNode } from './${path.basename(out)}' */` },
    write: false,
    logLevel: 'warning'
  })
  const code = result.outputFiles[0].contents
  writeFileSync(path.join(pkg, out), code)
  console.log(`standalone: ${path.join('packages/hearsay', out)}: ${code.byteLength} bytes, ${gzipSync(code, { level: 9 }).byteLength} gzip`)
}

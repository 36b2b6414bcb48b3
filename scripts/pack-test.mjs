#!/usr/bin/env node
// The packaging test: what an outsider gets from `npm install`. Packs every published package
// (`pnpm pack`, which applies publishConfig and the relay's prepack), then, in temporary folders
// outside the workspace, installs the tarballs with plain npm (the registry only: no workspace
// links, no overrides) and checks, one named check each:
//   - the tarballs: LICENSE, no tests, no tsbuildinfo, no `source` condition, no workspace ranges;
//   - the install: node-datachannel from the registry alone (no install script, no download);
//     with --omit=optional it is absent and a node says so on stderr;
//   - the `hearsay` README example in Node;
//   - `hearsay` and `hearsay/lite` bundled for the browser with esbuild and Vite, with and
//     without optional dependencies (sizes reported);
//   - a small app type-checked under moduleResolution nodenext (@types/node, no DOM) and
//     bundler (DOM, no @types/node), skipLibCheck false;
//   - publint and are-the-types-wrong (esm-only profile) on every tarball: zero problems;
//   - `npx hearsay-relay --port 0`: GET /, /status, /healthz, /metrics; the status page at 390 px
//     has no horizontal scroll (Chromium); the standalone hearsay.min.js and lite.min.js, served
//     from a static folder, load with a plain <script type="module"> and join the relay;
//   - Bun and Deno (npm packages `bun`, `deno`): the README example and two nodes over ws.
// Prints `pack-test: N passed, M failed` and writes the same as JSON to --json <file> (read by
// scripts/test.mjs). Needs `pnpm build` first and the npm registry.
import { spawn, spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { manifestProblems, PUBLISHED, readManifest } from './pack-manifests.mjs'
import { ensurePnpm } from './pnpm.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const args = process.argv.slice(2)
const jsonOut = args.includes('--json') ? args[args.indexOf('--json') + 1] : undefined
const keep = args.includes('--keep')
const tmp = mkdtempSync(path.join(os.tmpdir(), 'hearsay-pack-'))
const results = []
const measurements = {}
const started = Date.now()

const log = (msg) => console.log(`pack-test: ${msg}`)

async function check (name, fn) {
  const t0 = Date.now()
  try {
    const detail = await fn()
    results.push({ name, ok: true, ms: Date.now() - t0 })
    log(`ok   ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)${detail ? ` — ${detail}` : ''}`)
    return true
  } catch (err) {
    results.push({ name, ok: false, ms: Date.now() - t0, error: err instanceof Error ? err.message : String(err) })
    log(`FAIL ${name}: ${err instanceof Error ? err.message : String(err)}`)
    return false
  }
}

function assert (cond, message) { if (!cond) throw new Error(message) }

/** npm and node see none of the workspace's settings: no npm_config_* from `npm test`, no pnpm. */
function outsiderEnv (extra = {}) {
  const env = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(npm_|pnpm_|PNPM_|NODE_OPTIONS$|INIT_CWD$)/i.test(k)) continue
    env[k] = v
  }
  return { ...env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false', ...extra }
}

function run (cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: opts.timeout ?? 300_000, ...opts })
  if (r.error) throw new Error(`${cmd} ${argv.join(' ')}: ${r.error.message}`)
  if (r.status !== 0 && opts.allowFail !== true) {
    throw new Error(`${cmd} ${argv.join(' ')} exited with ${r.status ?? r.signal}\n${(r.stdout ?? '').slice(-3000)}\n${(r.stderr ?? '').slice(-3000)}`)
  }
  return r
}

/** `run`, without blocking: resolves with { status, stdout, stderr }. */
function runAsync (cmd, argv, opts = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (c) => { stdout += c })
    child.stderr.setEncoding('utf8').on('data', (c) => { stderr += c })
    child.once('error', (err) => { resolve({ status: 1, stdout, stderr: stderr + err.message }) })
    child.once('close', (status) => { resolve({ status, stdout, stderr }) })
  })
}

/** Maps `items` through `fn`, `limit` at a time (the machine has few cores). */
async function pool (items, limit, fn) {
  const out = new Array(items.length)
  let next = 0
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) { const i = next++; out[i] = await fn(items[i], i) }
  }))
  return out
}

function duKiB (dir) {
  let bytes = 0
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.isFile()) bytes += statSync(p).size
    }
  }
  walk(dir)
  return Math.round(bytes / 1024)
}

const gz = (bytes) => gzipSync(bytes, { level: 9 }).byteLength

// ---------------------------------------------------------------------------------------------
const tarballs = {}
const tarDir = path.join(tmp, 'tarballs')
mkdirSync(tarDir)

await check('manifests: every published package has LICENSE, description, keywords, repository, engines, files; publishConfig.exports = exports without source', () => {
  const problems = PUBLISHED.flatMap(dir => manifestProblems(dir))
  assert(problems.length === 0, problems.join('; '))
})

await check(`pnpm pack of ${PUBLISHED.length} packages`, async () => {
  const pnpm = ensurePnpm()
  const t0 = Date.now()
  await pool(PUBLISHED, 3, async (dir) => {
    const dest = path.join(tarDir, dir.replace('/', '-'))
    mkdirSync(dest)
    const r = await runAsync(pnpm[0], [...pnpm.slice(1), 'pack', '--pack-destination', dest], { cwd: path.join(root, dir) })
    assert(r.status === 0, `${dir}: pnpm pack exited with ${r.status}\n${r.stdout.slice(-2000)}${r.stderr.slice(-2000)}`)
    const made = readdirSync(dest)
    assert(made.length === 1, `${dir}: pnpm pack made ${made.length} files`)
    tarballs[readManifest(dir).name] = path.join(dest, made[0])
  })
  measurements.packSeconds = (Date.now() - t0) / 1000
  return `${Object.keys(tarballs).length} tarballs, ${Math.round(Object.values(tarballs).reduce((n, f) => n + statSync(f).size, 0) / 1024)} KiB`
})

await check('tarballs: LICENSE and README inside, no tests, no tsbuildinfo, no source condition, no workspace: ranges, not private', () => {
  const problems = []
  for (const [name, file] of Object.entries(tarballs)) {
    const list = run('tar', ['tzf', file]).stdout.split('\n').filter(Boolean)
    for (const need of ['package/LICENSE', 'package/README.md', 'package/package.json']) if (!list.includes(need)) problems.push(`${name}: no ${need}`)
    const bad = list.filter(f => /(^|\/)(test|tests|__tests__)\//.test(f) || /\.test\.[cm]?[jt]s$/.test(f) || f.endsWith('.tsbuildinfo') || /tsconfig[^/]*\.json$/.test(f))
    if (bad.length > 0) problems.push(`${name}: ships ${bad.slice(0, 5).join(', ')}`)
    const manifest = run('tar', ['xzf', file, '-O', 'package/package.json']).stdout
    if (manifest.includes('"source"')) problems.push(`${name}: the published package.json has a source condition`)
    if (manifest.includes('workspace:')) problems.push(`${name}: the published package.json has workspace: ranges`)
    const pkg = JSON.parse(manifest)
    if (pkg.private === true) problems.push(`${name}: private`)
    if (pkg.publishConfig?.exports !== undefined) problems.push(`${name}: publishConfig.exports left in the published manifest`)
  }
  const relay = run('tar', ['tzf', tarballs['hearsay-relay']]).stdout
  for (const f of ['package/chat/index.html', 'package/chat/chat.js', 'package/public/status.html', 'package/dist/cli.js']) if (!relay.includes(f)) problems.push(`hearsay-relay: no ${f}`)
  const hearsay = run('tar', ['tzf', tarballs.hearsay]).stdout
  for (const f of ['package/dist/hearsay.min.js', 'package/dist/lite.min.js']) if (!hearsay.includes(f)) problems.push(`hearsay: no ${f}`)
  assert(problems.length === 0, problems.join('; '))
})

// ---------------------------------------------------------------------------------------------
// The outsiders: `full` installs every tarball (and @types/node for the Node type check);
// `bare` installs hearsay's with --omit=optional and nothing else.
const full = path.join(tmp, 'full')
const bare = path.join(tmp, 'bare')
const LIBRARY = ['@hearsay/core', '@hearsay/store-level', '@hearsay/transport-ws', '@hearsay/transport-tcp', '@hearsay/transport-webrtc', '@hearsay/node-streams', 'hearsay']

function npmInstall (dir, specs, extra = []) {
  mkdirSync(dir, { recursive: true })
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: path.basename(dir) + '-app', private: true, type: 'module' }, null, 2))
  const t0 = Date.now()
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...extra, ...specs], { cwd: dir, env: outsiderEnv() })
  return (Date.now() - t0) / 1000
}

const installedFull = await check('npm install of every tarball outside the workspace (registry only; node-datachannel without install script or download)', () => {
  const seconds = npmInstall(full, [...Object.values(tarballs), '@types/node@^20.19.0'])
  measurements.installFull = { seconds, nodeModulesKiB: duKiB(path.join(full, 'node_modules')) }
  assert(existsSync(path.join(full, 'node_modules', 'node-datachannel', 'package.json')), 'node-datachannel is not installed')
  const nd = JSON.parse(readFileSync(path.join(full, 'node_modules', 'node-datachannel', 'package.json'), 'utf8'))
  assert(nd.version === readManifest('packages/transport-webrtc').optionalDependencies['node-datachannel'], `node-datachannel ${nd.version} installed, not the pinned one`)
  for (const gone of ['webrtc-polyfill', '@thaunknown/simple-peer']) assert(!existsSync(path.join(full, 'node_modules', gone)), `${gone} is installed`)
  const ls = run('npm', ['ls', '--all'], { cwd: full, env: outsiderEnv(), allowFail: true })
  assert(ls.status === 0, `npm ls --all: ${(ls.stderr || ls.stdout).slice(-1500)}`)
  return `${seconds.toFixed(1)} s, node_modules ${(measurements.installFull.nodeModulesKiB / 1024).toFixed(1)} MiB`
})

const installedBare = await check('npm install --omit=optional of hearsay alone: no native module installed', () => {
  const seconds = npmInstall(bare, LIBRARY.map(n => tarballs[n]), ['--omit=optional'])
  measurements.installOmitOptional = { seconds, nodeModulesKiB: duKiB(path.join(bare, 'node_modules')) }
  assert(!existsSync(path.join(bare, 'node_modules', 'node-datachannel')), 'node-datachannel was installed despite --omit=optional')
  assert(existsSync(path.join(bare, 'node_modules', '@hearsay', 'transport-webrtc', 'package.json')), '@hearsay/transport-webrtc is missing (it is a regular dependency)')
  return `${seconds.toFixed(1)} s, node_modules ${(measurements.installOmitOptional.nodeModulesKiB / 1024).toFixed(1)} MiB`
})

// ---------------------------------------------------------------------------------------------
/** The first ```js block after `## Example` in a README. */
function readmeExample (file) {
  const text = readFileSync(file, 'utf8')
  const at = text.indexOf('## Example')
  const m = /```js\n([\s\S]*?)```/.exec(text.slice(at))
  if (at < 0 || m === null) throw new Error(`${file}: no js example`)
  return m[1]
}

if (installedFull) {
  await check('the hearsay README example runs in Node (outsider install, WebRTC loaded: no warning)', () => {
    writeFileSync(path.join(full, 'example.mjs'), readmeExample(path.join(root, 'packages', 'hearsay', 'README.md')))
    const r = run(process.execPath, ['example.mjs'], { cwd: full, env: outsiderEnv(), timeout: 60_000 })
    assert(/alice got greeting from bob/.test(r.stdout), `unexpected output:\n${r.stdout}\n${r.stderr}`)
    assert(!r.stderr.includes('HEARSAY_NO_WEBRTC'), `a WebRTC warning although node-datachannel is installed:\n${r.stderr}`)
  })
}

if (installedBare) {
  await check('without node-datachannel a Node node starts and warns loudly on stderr (HEARSAY_NO_WEBRTC)', () => {
    writeFileSync(path.join(bare, 'no-webrtc.mjs'), [
      "import { createNode, memoryStore } from 'hearsay'",
      "const node = createNode({ store: memoryStore(), listen: ['ws://127.0.0.1:0'] })",
      'await node.start()',
      "console.log('addresses', JSON.stringify(node.addresses))",
      'await node.stop()'
    ].join('\n'))
    const r = run(process.execPath, ['no-webrtc.mjs'], { cwd: bare, env: outsiderEnv(), timeout: 60_000 })
    assert(r.stderr.includes('HEARSAY_NO_WEBRTC') && r.stderr.includes('node-datachannel'), `no warning on stderr:\n${r.stderr}`)
    assert(/ws:\/\/127\.0\.0\.1:\d+/.test(r.stdout) && !r.stdout.includes('webrtc:'), `unexpected addresses: ${r.stdout}`)
  })
}

// ---------------------------------------------------------------------------------------------
const esbuild = await import('esbuild')
const bundles = {}
for (const [label, dir, ok] of [['with optional', full, installedFull], ['--omit=optional', bare, installedBare]]) {
  if (!ok) continue
  for (const entry of ['hearsay', 'hearsay/lite']) {
    await check(`esbuild bundles ${entry} for the browser (${label})`, async () => {
      const r = await esbuild.build({
        stdin: { contents: `export { createNode } from '${entry}'\n`, resolveDir: dir, loader: 'js' },
        absWorkingDir: dir,
        bundle: true,
        minify: true,
        format: 'esm',
        platform: 'browser',
        target: 'es2022',
        write: false,
        metafile: true,
        logLevel: 'silent'
      })
      const inputs = Object.keys(r.metafile.inputs)
      const native = inputs.filter(p => p.includes('node-datachannel') || p.includes('/dist/main.node.') || p.includes('/dist/index.node.'))
      assert(native.length === 0, `the browser bundle reaches ${native.join(', ')}`)
      const code = r.outputFiles[0].contents
      bundles[`esbuild ${entry} (${label})`] = { minified: code.byteLength, gzip: gz(code) }
      return `${code.byteLength} bytes minified, ${gz(code)} gzip`
    })
  }
}

const vite = await import('vite')
for (const [label, dir, ok] of [['with optional', full, installedFull], ['--omit=optional', bare, installedBare]]) {
  if (!ok) continue
  for (const entry of ['hearsay', 'hearsay/lite']) {
    await check(`Vite bundles ${entry} for the browser (${label})`, async () => {
      const file = path.join(dir, `vite-${entry.replace('/', '-')}.js`)
      writeFileSync(file, `import { createNode } from '${entry}'\nwindow.node = createNode\n`)
      const out = await vite.build({
        root: dir,
        configFile: false,
        logLevel: 'silent',
        build: { write: false, minify: 'esbuild', target: 'es2022', modulePreload: false, rollupOptions: { input: file } }
      })
      const outputs = (Array.isArray(out) ? out : [out]).flatMap(o => o.output)
      const chunks = outputs.filter(o => o.type === 'chunk')
      const code = Buffer.from(chunks.map(c => c.code).join('\n'))
      const modules = chunks.flatMap(c => Object.keys(c.modules))
      assert(!modules.some(m => m.includes('node-datachannel') || m.includes('/dist/main.node.')), 'the Vite bundle reaches the Node entry')
      bundles[`vite ${entry} (${label})`] = { minified: code.byteLength, gzip: gz(code) }
      return `${code.byteLength} bytes minified, ${gz(code)} gzip`
    })
  }
}
measurements.bundles = bundles

// ---------------------------------------------------------------------------------------------
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc')
// the two type checks run side by side (each is a whole tsc run)
const typeChecks = []
/** Writes `app.ts` (from `lines`) and its tsconfig into `dir` and type-checks it with `compilerOptions`. */
async function typeCheck (dir, lines, compilerOptions) {
  mkdirSync(dir, { recursive: true })
  writeFileSync(path.join(dir, 'app.ts'), lines.join('\n'))
  writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'es2022', strict: true, skipLibCheck: false, noEmit: true, ...compilerOptions }, files: ['app.ts'] }, null, 2))
  const r = await runAsync(process.execPath, [tsc, '-p', path.join(dir, 'tsconfig.json')], { cwd: dir })
  assert(r.status === 0, `tsc:\n${r.stdout}${r.stderr}`)
}
if (installedFull) {
  const nodeTypes = async () => {
    await typeCheck(path.join(full, 'ts-node-app'), [
      "import { createNode, memoryStore, optionalWebRTC, webRTC, WEBRTC_DEFAULTS, toDuplex, tcp, NO_WEBRTC_WARNING } from 'hearsay'",
      "import type { HearsayNode, HearsayOptions, WebRTCInit } from 'hearsay'",
      "import { createNode as createLite } from 'hearsay/lite'",
      "import { webRTC as bareWebRTC } from '@hearsay/transport-webrtc'",
      "const init: WebRTCInit = { iceServers: [{ urls: 'stun:stun.example.org:3478' }], connectTimeout: WEBRTC_DEFAULTS.connectTimeout }",
      "const options: HearsayOptions = { store: memoryStore(), webrtc: init, transports: [tcp(), webRTC(init), optionalWebRTC(init), bareWebRTC()] }",
      'const node: HearsayNode = createNode(options)',
      "const lite: HearsayNode = createLite({ store: './peers' })",
      'export const used = [node, lite, toDuplex, NO_WEBRTC_WARNING.length]'
    ], { module: 'nodenext', moduleResolution: 'nodenext', lib: ['es2022'], types: ['node'] })
  }
  typeChecks.push(check('types: a Node app under moduleResolution nodenext, @types/node, no DOM, skipLibCheck false', nodeTypes))
}
if (installedBare) {
  const browserTypes = async () => {
    assert(!existsSync(path.join(bare, 'node_modules', '@types', 'node')), '@types/node is installed in the browser outsider')
    await typeCheck(path.join(bare, 'ts-browser-app'), [
      "import { createNode, webRTC, WEBRTC_DEFAULTS, memoryStore } from 'hearsay'",
      "import type { HearsayNode, WebRTCInit } from 'hearsay'",
      "import { createNode as createLite, indexedDbStore } from 'hearsay/lite'",
      '// the Node-only names are not in the browser declarations',
      '// @ts-expect-error toDuplex is Node only',
      "import { toDuplex } from 'hearsay'",
      "const init: WebRTCInit = { iceServers: [{ urls: 'stun:stun.example.org:3478' }], connectTimeout: WEBRTC_DEFAULTS.connectTimeout }",
      "const node: HearsayNode = createNode({ store: 'my-app', webrtc: init, transports: [webRTC(init)] })",
      "const lite: HearsayNode = createLite({ store: indexedDbStore({ name: 'x' }) })",
      'export const used = [node, lite, memoryStore, toDuplex]'
    ], { module: 'esnext', moduleResolution: 'bundler', lib: ['es2022', 'dom'], types: [] })
  }
  typeChecks.push(check('types: a browser app under moduleResolution bundler, lib ES2022 + DOM, no @types/node, skipLibCheck false', browserTypes))
}
await Promise.all(typeChecks)

// ---------------------------------------------------------------------------------------------
const { publint } = await import('publint')
const { formatMessage } = await import('publint/utils')
await check('publint: zero errors, warnings and suggestions on every tarball', async () => {
  const problems = []
  for (const [name, file] of Object.entries(tarballs)) {
    const buf = readFileSync(file)
    const { messages, pkg } = await publint({ pack: { tarball: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) }, level: 'suggestion', strict: true })
    for (const m of messages) problems.push(`${name}: [${m.type}] ${formatMessage(m, pkg) ?? m.code}`)
  }
  assert(problems.length === 0, problems.join('; '))
})

await check('are-the-types-wrong (esm-only profile): no problems in any library tarball', async () => {
  const problems = []
  const libraries = Object.entries(tarballs).filter(([name]) => name !== 'hearsay-relay') // the relay is a command, no importable entry
  await pool(libraries, 3, async ([name, file]) => {
    const r = await runAsync(path.join(root, 'node_modules', '.bin', 'attw'), [file, '--profile', 'esm-only', '--no-definitely-typed', '--format', 'ascii', '--no-color', '--no-emoji'])
    if (r.status !== 0) problems.push(`${name}:\n${r.stdout}${r.stderr}`)
  })
  assert(problems.length === 0, problems.join('\n'))
})

// ---------------------------------------------------------------------------------------------
async function get (url) {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) })
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() }
}

/** `npx hearsay-relay` in the outsider folder, with its default data directory. */
async function startRelay (cwd) {
  // its own process group: npx runs the relay as a child of its own, and both must go
  const child = spawn('npx', ['--no-install', 'hearsay-relay', '--port', '0', '--host', '127.0.0.1'], { cwd, env: outsiderEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  const signal = (sig) => { try { process.kill(-child.pid, sig) } catch { /* gone */ } }
  let out = ''
  const ready = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`no "relay ready" line within 30 s:\n${out}`)) }, 30_000)
    const onData = (chunk) => {
      out += chunk
      for (const line of out.split('\n')) {
        if (!line.includes('"relay ready"')) continue
        clearTimeout(timer)
        resolve(JSON.parse(line))
        return
      }
    }
    child.stdout.setEncoding('utf8').on('data', onData)
    child.stderr.setEncoding('utf8').on('data', (c) => { out += c })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`hearsay-relay exited with ${code}:\n${out}`)) })
  }).catch((err) => { signal('SIGKILL'); throw err })
  const exited = new Promise(resolve => { child.once('exit', resolve) })
  return {
    ready,
    output: () => out,
    stop: async () => {
      signal('SIGTERM')
      await Promise.race([exited, new Promise(resolve => setTimeout(resolve, 10_000))])
      signal('SIGKILL')
      child.stdout.destroy()
      child.stderr.destroy()
    }
  }
}

let relay
if (installedFull) {
  await check('npx hearsay-relay --port 0: GET / (chat page), /status, /healthz, /metrics; data in ./data of the working directory', async () => {
    relay = await startRelay(full)
    const base = relay.ready.http
    const home = await get(`${base}/`)
    assert(home.status === 200 && home.type.includes('text/html') && home.body.includes('chat.js'), `/ answered ${home.status} ${home.type}: ${home.body.slice(0, 200)}`)
    const chat = await get(`${base}/chat.js`)
    assert(chat.status === 200 && chat.body.length > 10_000, `/chat.js answered ${chat.status}`)
    const status = await get(`${base}/status`)
    assert(status.status === 200 && status.type.includes('text/html'), `/status answered ${status.status}`)
    const health = await get(`${base}/healthz`)
    assert(health.status === 200 && JSON.parse(health.body).status === 'ok', `/healthz answered ${health.status} ${health.body}`)
    const metrics = await get(`${base}/metrics`)
    assert(metrics.status === 200 && /^hearsay_/m.test(metrics.body), `/metrics answered ${metrics.status}`)
    assert(relay.ready.data !== undefined && existsSync(path.join(full, 'data')), `no data directory in the working directory (relay says ${relay.ready.data})`)
    return base
  })
}

// ---------------------------------------------------------------------------------------------
if (relay !== undefined) {
  const { chromium } = await import('@playwright/test')
  let browser
  try {
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] })
  } catch (err) {
    await check('Chromium starts', () => { throw err })
  }
  if (browser !== undefined) {
    const relayWs = relay.ready.addresses.find(a => a.startsWith('ws://'))
    // a static folder with nothing but the standalone file and a page that imports it
    const site = path.join(tmp, 'site')
    mkdirSync(site)
    for (const f of ['hearsay.min.js', 'lite.min.js']) copyFileSync(path.join(full, 'node_modules', 'hearsay', 'dist', f), path.join(site, f))
    for (const f of ['hearsay.min.js', 'lite.min.js']) {
      writeFileSync(path.join(site, `${f}.html`), `<!doctype html><meta charset="utf-8"><title>${f}</title>
<script type="module">
import { createNode, memoryStore } from './${f}'
const relay = new URLSearchParams(location.search).get('relay')
const node = createNode({ store: memoryStore(), seeds: [relay] })
node.on('online', () => { document.title = 'online ' + node.id })
await node.start()
window.hearsayNode = node
</script>`)
    }
    const types = { '.html': 'text/html', '.js': 'text/javascript' }
    const server = createServer((req, res) => {
      const name = decodeURIComponent(new URL(req.url, 'http://x').pathname.slice(1))
      const file = path.join(site, path.basename(name))
      if (!existsSync(file)) { res.writeHead(404).end(); return }
      res.writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file))
    })
    await new Promise(resolve => server.listen(0, '127.0.0.1', resolve))
    const origin = `http://127.0.0.1:${server.address().port}`
    const openPages = []
    for (const f of ['hearsay.min.js', 'lite.min.js']) {
      await check(`the standalone ${f} loads with a plain <script type="module"> from a static folder and joins the relay (Chromium)`, async () => {
        const page = await browser.newPage()
        const errors = []
        page.on('pageerror', (err) => { errors.push(err.message) })
        try {
          await page.goto(`${origin}/${f}.html?relay=${encodeURIComponent(relayWs)}`)
          await page.waitForFunction(() => document.title.startsWith('online '), null, { timeout: 20_000 })
          const id = (await page.title()).slice('online '.length)
          const health = JSON.parse((await get(`${relay.ready.http}/healthz`)).body)
          assert(health.peers >= 1, `the relay has ${health.peers} peers`)
          assert(errors.length === 0, errors.join('; '))
          openPages.push(page)
          return `peer ${id.slice(0, 8)}…`
        } catch (err) { await page.close(); throw err }
      })
    }
    await check('the status page at 390 px (a phone), with the two standalone pages connected, has no horizontal scroll', async () => {
      const page = await browser.newPage({ viewport: { width: 390, height: 844 } })
      try {
        await page.goto(`${relay.ready.http}/status`)
        await page.waitForFunction((n) => document.querySelectorAll('svg circle').length > n, openPages.length, { timeout: 10_000 })
        const { scroll, client } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }))
        assert(scroll <= client, `the page is ${scroll} px wide in a ${client} px viewport`)
        return `${scroll} px`
      } finally { await page.close() }
    })

    for (const page of openPages) await page.evaluate(() => window.hearsayNode.stop()).catch(() => {})
    server.close()
    await browser.close()
  }
  await relay.stop()
}

// ---------------------------------------------------------------------------------------------
// Bun and Deno, from their npm packages (platform binaries inside registry packages), run the
// Node entry from the same outsider install: the README example and two nodes over ws.
const RUNTIMES = { bun: 'bun@1.4.5', deno: 'deno@2.9.6' }
const TWO_NODES_WS = [
  "import { createNode, memoryStore } from 'hearsay'",
  "const a = createNode({ store: memoryStore(), listen: ['ws://127.0.0.1:0'], webrtc: false })",
  'await a.start()',
  'const b = createNode({ store: memoryStore(), webrtc: false })',
  'await b.start()',
  "const got = new Promise(resolve => a.once('message', resolve))",
  'const peer = await b.dial(a.addresses[0])',
  "peer.send('hi', { n: 1 })",
  'const m = await got',
  "console.log('two nodes over ws:', m.type, JSON.stringify(m.data), m.from.id === b.id)",
  'await b.stop()',
  'await a.stop()'
].join('\n')
if (installedFull) {
  const rt = path.join(tmp, 'runtimes')
  const haveRuntimes = await check(`npm install ${Object.values(RUNTIMES).join(' ')} (binaries from the registry)`, () => {
    const seconds = npmInstall(rt, Object.values(RUNTIMES))
    measurements.installRuntimes = { seconds, nodeModulesKiB: duKiB(path.join(rt, 'node_modules')) }
    return `${seconds.toFixed(1)} s`
  })
  if (haveRuntimes) {
    writeFileSync(path.join(full, 'two-nodes-ws.mjs'), TWO_NODES_WS)
    measurements.runtimes = {}
    for (const name of Object.keys(RUNTIMES)) {
      const exe = path.join(rt, 'node_modules', '.bin', name)
      const argv = (file) => name === 'deno' ? ['run', '-A', file] : [file]
      const version = run(exe, ['--version'], { env: outsiderEnv() }).stdout.split('\n')[0]
      measurements.runtimes[name] = { version }
      await check(`${name}: the hearsay README example (Node entry, outsider install)`, () => {
        const r = run(exe, argv('example.mjs'), { cwd: full, env: outsiderEnv(), timeout: 90_000 })
        assert(/alice got greeting from bob/.test(r.stdout), `unexpected output:\n${r.stdout}\n${r.stderr}`)
        measurements.runtimes[name].webrtcLoaded = !r.stderr.includes('HEARSAY_NO_WEBRTC') && r.stdout.includes('webrtc:')
        return version
      })
      await check(`${name}: two nodes over ws`, () => {
        const r = run(exe, argv('two-nodes-ws.mjs'), { cwd: full, env: outsiderEnv(), timeout: 90_000 })
        assert(r.stdout.includes('two nodes over ws: hi {"n":1} true'), `unexpected output:\n${r.stdout}\n${r.stderr}`)
      })
    }
  }
}

// ---------------------------------------------------------------------------------------------
const passed = results.filter(r => r.ok).length
const failed = results.length - passed
measurements.seconds = (Date.now() - started) / 1000
log(`measurements ${JSON.stringify(measurements)}`)
if (jsonOut !== undefined) writeFileSync(jsonOut, JSON.stringify({ passed, failed, results, measurements }, null, 2))
if (keep) log(`kept ${tmp}`)
else rmSync(tmp, { recursive: true, force: true })
log(`${passed} passed, ${failed} failed (${measurements.seconds.toFixed(1)} s)`)
process.exit(failed > 0 ? 1 : 0)

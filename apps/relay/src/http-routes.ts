/**
 * The relay's HTTP endpoints, served on the WebSocket port (WebSocket upgrades on `/` go to the
 * ws transport; every other request comes here):
 *
 *   GET /healthz         200 `{"status":"ok",…}` while running, 503 `{"status":"stopping",…}` after
 *   GET /metrics         Prometheus text (prometheus.ts)
 *   GET /status.json     the status report (status.ts)
 *   GET /status          the status page (public/status.html, assets under /status/)
 *   GET /, /<file>       the chat demo's build directory
 *
 * GET and HEAD only. Every response has `cache-control: no-cache` and `nosniff`; HTML also gets
 * a content security policy that allows scripts and connections (ws too) to this origin only.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from '@hearsay/core'
import { CONTENT_TYPE as METRICS_TYPE, renderMetrics } from './prometheus.js'
import { readStatic } from './static-files.js'
import type { StaticFile } from './static-files.js'
import { health, statusGauges, statusReport } from './status.js'
import type { NodeView } from './status.js'

export interface RouteOptions {
  node: NodeView
  /** Wall-clock ms and node-clock ms when the relay started. */
  started: { at: number, clock: number }
  /** Until `running`, every request gets 503; once `stopping`, `/healthz` answers 503. */
  phase: () => 'starting' | 'running' | 'stopping'
  /** The chat demo's build (`index.html`, `chat.js`, …). */
  chatDir: string
  /** The status page's files (`status.html`, `status.js`, `status.css`). */
  publicDir: string
  logger: Logger
}

const JSON_TYPE = 'application/json; charset=utf-8'
const CSP = "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>hearsay relay</title></head>
<body><h1>hearsay relay</h1><p>The chat demo is not built here: run <code>pnpm build</code> (or <code>npm start</code>),
or point <code>--chat-dir</code> at its build.</p><p><a href="/status">Status page</a></p></body></html>
`

/** Returns the `request` listener of the relay's HTTP server. */
export function createRoutes (opts: RouteOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(req, res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { allow: 'GET, HEAD' })
      return
    }
    let pathname: string
    try {
      pathname = new URL(req.url ?? '/', 'http://relay.invalid').pathname
    } catch {
      send(req, res, 400, 'text/plain; charset=utf-8', 'bad request\n')
      return
    }
    const phase = opts.phase()
    if (phase === 'starting') {
      send(req, res, 503, JSON_TYPE, '{"status":"starting"}\n', { 'retry-after': '1' })
      return
    }
    switch (pathname) {
      case '/healthz': {
        const h = health(opts.node, opts.started, phase === 'stopping')
        send(req, res, h.status === 'ok' ? 200 : 503, JSON_TYPE, `${JSON.stringify(h)}\n`)
        return
      }
      case '/metrics':
        send(req, res, 200, METRICS_TYPE, renderMetrics(opts.node.metrics.snapshot(), statusGauges(opts.node, opts.started)))
        return
      case '/status.json':
        send(req, res, 200, JSON_TYPE, `${JSON.stringify(statusReport(opts.node, opts.started))}\n`)
        return
      case '/favicon.ico':
        res.writeHead(204, { 'cache-control': 'max-age=86400' }).end()
        return
      case '/status':
      case '/status/':
        pathname = '/status/status.html'
        break
    }
    let file: StaticFile | undefined
    if (pathname.startsWith('/status/')) {
      file = await readStatic(opts.publicDir, pathname.slice('/status'.length))
    } else {
      file = await readStatic(opts.chatDir, pathname)
      if (file === undefined && (pathname === '/' || pathname === '/index.html')) {
        send(req, res, 404, 'text/html; charset=utf-8', NOT_BUILT)
        return
      }
    }
    if (file === undefined) { send(req, res, 404, 'text/plain; charset=utf-8', 'not found\n'); return }
    send(req, res, 200, file.contentType, file.body)
  }
  return (req, res) => {
    route(req, res).catch((err: unknown) => {
      opts.logger.warn('http request failed', { url: req.url, err })
      if (!res.headersSent) send(req, res, 500, 'text/plain; charset=utf-8', 'internal error\n')
      else res.destroy()
    })
  }
}

function send (req: IncomingMessage, res: ServerResponse, status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}): void {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body
  const headers: Record<string, string | number> = {
    'content-type': type,
    'content-length': bytes.byteLength,
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    ...extra
  }
  if (type.startsWith('text/html')) headers['content-security-policy'] = CSP
  res.writeHead(status, headers)
  res.end(req.method === 'HEAD' ? undefined : bytes)
}

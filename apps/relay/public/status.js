// @ts-check
/**
 * The relay's status page: polls `/status.json` every second and draws the peers the relay
 * knows as an SVG graph (the relay in the middle, connected peers on the inner ring — overlay
 * neighbours solid, plain links dashed — and passive-view peers on the outer ring), a table of
 * connected peers and the main counters. Plain DOM; peer data only ever goes into text nodes and
 * attributes, never into markup.
 */

/** @typedef {{ id: string, address: string, direction: string, active: boolean, connectedFor: number }} StatusPeer */
/**
 * @typedef {{ id: string, status: string, addresses: string[], startedAt: string, uptimeSeconds: number,
 *   peers: StatusPeer[], passive: string[], omitted: { peers: number, passive: number }, overlay: boolean,
 *   counters: Record<string, number> }} StatusReport
 */

const POLL_MS = 1000
const TIMEOUT_MS = 5000
/** Most peers drawn on each ring; the table lists every connected peer the report has. */
const MAX_DRAWN = 48
const SVG = 'http://www.w3.org/2000/svg'
const INNER = 170
const OUTER = 260

/** @param {string} id */
const short = (id) => id.slice(0, 8)

/** @param {number} s */
function duration (s) {
  if (s < 60) return `${Math.floor(s)} s`
  if (s < 3600) return `${Math.floor(s / 60)} min`
  if (s < 86400) return `${(s / 3600).toFixed(1)} h`
  return `${(s / 86400).toFixed(1)} d`
}

/** @param {number} n */
function bytes (n) {
  if (n < 1024) return `${n} B`
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`
  return `${(n / 1024 ** 3).toFixed(2)} GiB`
}

/**
 * @param {string} tag
 * @param {Record<string, string | number>} attrs
 * @param {string} [title]
 */
function svg (tag, attrs, title) {
  const el = document.createElementNS(SVG, tag)
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v))
  if (title !== undefined) {
    const t = document.createElementNS(SVG, 'title')
    t.textContent = title
    el.append(t)
  }
  return el
}

/** @param {number} i @param {number} n @param {number} r @param {number} turn */
function onRing (i, n, r, turn) {
  const a = -Math.PI / 2 + turn + (2 * Math.PI * i) / Math.max(n, 1)
  return { x: Math.round(r * Math.cos(a)), y: Math.round(r * Math.sin(a)) }
}

/** @param {SVGSVGElement} root @param {StatusReport} r */
function drawGraph (root, r) {
  const parts = []
  const drawn = r.peers.slice(0, MAX_DRAWN)
  const passive = r.passive.slice(0, MAX_DRAWN)
  drawn.forEach((p, i) => {
    const { x, y } = onRing(i, drawn.length, INNER, 0)
    parts.push(svg('line', { x1: 0, y1: 0, x2: x, y2: y, class: p.active ? 'active' : 'link' }))
  })
  passive.forEach((id, i) => {
    const { x, y } = onRing(i, passive.length, OUTER, Math.PI / Math.max(passive.length, 1))
    const g = svg('g', { 'data-peer-id': id, class: 'peer passive' })
    g.append(svg('circle', { cx: x, cy: y, r: 7, class: 'passive' }, `${id}\nknown (passive view), not connected`))
    parts.push(g)
  })
  drawn.forEach((p, i) => {
    const { x, y } = onRing(i, drawn.length, INNER, 0)
    const view = p.active ? 'active' : 'link'
    const g = svg('g', { 'data-peer-id': p.id, class: `peer ${view}` })
    g.append(svg('circle', { cx: x, cy: y, r: 11, class: view }, `${p.id}\n${p.address} (${p.direction}, ${view === 'active' ? 'overlay neighbour' : 'plain link'})`))
    const label = svg('text', { x, y: y + (y >= 0 ? 26 : -17) })
    label.textContent = short(p.id)
    g.append(label)
    parts.push(g)
  })
  const self = svg('g', { 'data-peer-id': r.id, class: 'self' })
  self.append(svg('circle', { cx: 0, cy: 0, r: 18, class: 'self' }, `${r.id}\nthis relay`))
  const label = svg('text', { x: 0, y: 34 })
  label.textContent = `${short(r.id)} (relay)`
  self.append(label)
  parts.push(self)
  const more = r.peers.length - drawn.length + r.omitted.peers
  if (more > 0) {
    const t = svg('text', { x: 0, y: 290 })
    t.textContent = `+${more} more connected peers`
    parts.push(t)
  }
  root.replaceChildren(...parts)
}

/** @param {HTMLTableSectionElement} body @param {StatusPeer[]} peers */
function drawTable (body, peers) {
  body.replaceChildren(...peers.map((p) => {
    const tr = document.createElement('tr')
    tr.dataset.peerId = p.id
    const cells = [
      [short(p.id), 'id', p.id],
      [p.active ? 'active' : 'link', 'view'],
      [p.direction, 'direction'],
      [p.address, 'address', p.address],
      [duration(p.connectedFor), 'since']
    ]
    for (const [text, cls, title] of cells) {
      const td = document.createElement('td')
      td.textContent = text ?? ''
      td.className = cls ?? ''
      if (title !== undefined) td.title = title
      tr.append(td)
    }
    return tr
  }))
}

/** @param {HTMLElement} dl @param {StatusReport} r */
function drawCounters (dl, r) {
  const c = r.counters
  const rows = [
    ['messages in / out', `${c.messagesIn ?? 0} / ${c.messagesOut ?? 0}`],
    ['bytes in / out', `${bytes(c.bytesIn ?? 0)} / ${bytes(c.bytesOut ?? 0)}`],
    ['handshake failures', String(c.handshakeFailures ?? 0)],
    ['drops', String(c.drops ?? 0)],
    ['overlay', r.overlay ? 'on' : 'off'],
    ['listening on', r.addresses.join(', ')]
  ]
  dl.replaceChildren(...rows.flatMap(([k, v]) => {
    const dt = document.createElement('dt')
    dt.textContent = k ?? ''
    const dd = document.createElement('dd')
    dd.textContent = v ?? ''
    return [dt, dd]
  }))
}

/** @param {string} id */
function byId (id) {
  const el = document.getElementById(id)
  if (el === null) throw new Error(`the status page has no #${id}`)
  return el
}

/** @param {StatusReport} r */
function render (r) {
  const summary = byId('summary')
  summary.dataset.state = r.status
  summary.textContent = `${r.id} · ${r.status} · ${r.peers.length + r.omitted.peers} connected · up ${duration(r.uptimeSeconds)}`
  drawGraph(/** @type {SVGSVGElement} */ (/** @type {unknown} */ (byId('graph'))), r)
  drawTable(/** @type {HTMLTableSectionElement} */ (document.querySelector('#peers tbody')), r.peers)
  byId('peer-count').textContent = String(r.peers.length + r.omitted.peers)
  byId('passive-count').textContent = String(r.passive.length + r.omitted.passive)
  byId('passive').replaceChildren(...r.passive.map((id) => {
    const li = document.createElement('li')
    li.dataset.peerId = id
    li.textContent = short(id)
    li.title = id
    return li
  }))
  drawCounters(byId('counters'), r)
  document.body.dataset.updates = String(Number(document.body.dataset.updates ?? 0) + 1)
}

async function poll () {
  try {
    const res = await fetch('/status.json', { cache: 'no-store', signal: AbortSignal.timeout(TIMEOUT_MS) })
    if (!res.ok) throw new Error(`HTTP ${res.status}`)
    render(/** @type {StatusReport} */ (await res.json()))
  } catch (err) {
    const summary = byId('summary')
    summary.dataset.state = 'error'
    summary.textContent = `cannot reach the relay (${err instanceof Error ? err.message : String(err)}); retrying`
  } finally {
    setTimeout(() => { void poll() }, POLL_MS)
  }
}

void poll()

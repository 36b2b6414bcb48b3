/**
 * Renders a node's counters (`node.metrics.snapshot()`) and a few gauges in the Prometheus text
 * exposition format 0.0.4. Pure. Hand-written rather than through prom-client: the input is
 * already a flat snapshot, and prom-client's registry would have to be rebuilt on every scrape to
 * follow counters that appear at run time (a new drop reason).
 *
 * Counter `a.b-c` becomes `hearsay_a_b_c_total`; `drops.<reason>` becomes one family,
 * `hearsay_drops_total{reason="<reason>"}`. The counters every dashboard needs are always
 * present, at 0 before their first event.
 */

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'
const PREFIX = 'hearsay_'

export interface Gauge {
  name: string
  help: string
  value: number
  labels?: Readonly<Record<string, string>>
}

/** Counters written even when the node has not counted them yet, with their help text. */
const KNOWN_COUNTERS: Readonly<Record<string, string>> = {
  'messages.in': 'Application messages received (direct, broadcast and relayed).',
  'messages.out': 'Application messages sent directly to a peer.',
  'frames.in': 'Frames received on authenticated links.',
  'frames.out': 'Frames sent on authenticated links.',
  'bytes.in': 'Bytes received in frames on authenticated links.',
  'bytes.out': 'Bytes sent in frames on authenticated links.',
  'handshake.failures': 'Secure handshakes that failed (wrong network key, garbage, timeout).',
  'connections.inbound': 'Inbound connections accepted by a listener.',
  'peers.connected': 'Peers that connected.',
  'peers.disconnected': 'Peers that disconnected.'
}

const DROP_PREFIX = 'drops.'

/** `a.b-c` → `hearsay_a_b_c_total`. */
export function counterName (name: string): string {
  return `${PREFIX}${sanitize(name)}_total`
}

function sanitize (name: string): string {
  const s = name.replace(/[^a-zA-Z0-9_]/g, '_')
  return /^[0-9]/.test(s) ? `_${s}` : s
}

function escapeLabel (value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
}

function escapeHelp (text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
}

function formatValue (v: number): string {
  if (Number.isNaN(v)) return 'NaN'
  if (v === Infinity) return '+Inf'
  if (v === -Infinity) return '-Inf'
  return String(v)
}

function labelSet (labels: Readonly<Record<string, string>> | undefined): string {
  const entries = Object.entries(labels ?? {})
  if (entries.length === 0) return ''
  return `{${entries.map(([k, v]) => `${sanitize(k)}="${escapeLabel(v)}"`).join(',')}}`
}

/** The exposition text: HELP and TYPE lines, then samples; families sorted by name; ends with a newline. */
export function renderMetrics (counters: Readonly<Record<string, number>>, gauges: readonly Gauge[] = []): string {
  const lines: string[] = []
  const family = (name: string, type: 'counter' | 'gauge', help: string, samples: Array<[string, number]>): void => {
    lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`)
    for (const [labels, value] of samples) lines.push(`${name}${labels} ${formatValue(value)}`)
  }

  const plain = new Map<string, number>()
  for (const name of Object.keys(KNOWN_COUNTERS)) plain.set(name, 0)
  const drops: Array<[string, number]> = []
  for (const [name, value] of Object.entries(counters)) {
    if (name.startsWith(DROP_PREFIX)) drops.push([labelSet({ reason: name.slice(DROP_PREFIX.length) }), value])
    else plain.set(name, value)
  }

  // two counters that differ only in punctuation (`a.b` and `a-b`) would give one name twice
  const byMetric = new Map<string, { source: string, value: number }>()
  for (const [source, value] of plain) {
    const metric = counterName(source)
    const seen = byMetric.get(metric)
    byMetric.set(metric, { source: seen === undefined ? source : `${seen.source}, ${source}`, value: (seen?.value ?? 0) + value })
  }
  for (const metric of [...byMetric.keys()].sort()) {
    const { source, value } = byMetric.get(metric)!
    family(metric, 'counter', KNOWN_COUNTERS[source] ?? `hearsay counter ${source}.`, [['', value]])
  }
  family(`${PREFIX}drops_total`, 'counter', 'Messages and frames dropped, by reason.', drops.sort(([a], [b]) => a < b ? -1 : 1))

  const gaugeFamilies = new Map<string, Gauge[]>()
  for (const g of gauges) {
    const name = `${PREFIX}${sanitize(g.name)}`
    gaugeFamilies.set(name, [...(gaugeFamilies.get(name) ?? []), g])
  }
  for (const name of [...gaugeFamilies.keys()].sort()) {
    const members = gaugeFamilies.get(name)!
    family(name, 'gauge', members[0]!.help, members.map(g => [labelSet(g.labels), g.value]))
  }
  return `${lines.join('\n')}\n`
}

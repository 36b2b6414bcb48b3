/**
 * A strict reader of the Prometheus text exposition format 0.0.4, for the tests: every line is a
 * HELP, a TYPE or a sample of a family declared just before; names and label sets are valid;
 * values are numbers; no series twice. Throws on the first bad line.
 */
export interface Sample { name: string, labels: Record<string, string>, value: number }
export interface Family { name: string, type: string, help: string, samples: Sample[] }

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*'
const SAMPLE = new RegExp(`^(${NAME})(\\{(.*)\\})? (\\S+)$`)
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"(,|$)/

function parseValue (text: string, line: string): number {
  if (text === '+Inf') return Infinity
  if (text === '-Inf') return -Infinity
  if (text === 'NaN') return Number.NaN
  if (!/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(text)) throw new Error(`bad value in ${JSON.stringify(line)}`)
  return Number(text)
}

function parseLabels (text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {}
  let rest = text
  while (rest.length > 0) {
    const m = LABEL.exec(rest)
    if (m === null) throw new Error(`bad labels in ${JSON.stringify(line)}`)
    const [all, key, raw] = m as unknown as [string, string, string]
    if (key in labels) throw new Error(`label ${key} twice in ${JSON.stringify(line)}`)
    labels[key] = raw.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\')
    rest = rest.slice(all.length)
  }
  return labels
}

export function parseExposition (text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a newline')
  const families = new Map<string, Family>()
  const series = new Set<string>()
  let current: Family | undefined
  for (const line of text.slice(0, -1).split('\n')) {
    let m: RegExpExecArray | null
    if ((m = new RegExp(`^# HELP (${NAME}) (.*)$`).exec(line)) !== null) {
      const [, name, help] = m as unknown as [string, string, string]
      if (families.has(name)) throw new Error(`family ${name} declared twice`)
      current = { name, type: 'untyped', help, samples: [] }
      families.set(name, current)
    } else if ((m = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line)) !== null) {
      const [, name, type] = m as unknown as [string, string, string]
      if (current?.name !== name || current.samples.length > 0) throw new Error(`TYPE for ${name} not right after its HELP`)
      current.type = type
    } else if ((m = SAMPLE.exec(line)) !== null) {
      const [, name, , labelText, value] = m as unknown as [string, string, string | undefined, string | undefined, string]
      if (current === undefined || current.name !== name) throw new Error(`sample ${JSON.stringify(line)} outside its family`)
      const labels = parseLabels(labelText ?? '', line)
      const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`
      if (series.has(key)) throw new Error(`series twice: ${line}`)
      series.add(key)
      current.samples.push({ name, labels, value: parseValue(value, line) })
    } else {
      throw new Error(`not an exposition line: ${JSON.stringify(line)}`)
    }
  }
  return families
}

/** The value of the sample of `name` whose labels include `labels`; undefined if none. */
export function sampleValue (families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  return families.get(name)?.samples.find(s => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value
}

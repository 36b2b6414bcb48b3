/**
 * Browser entry: a `hearsay/lite` node with the overlay, joined through the Node node given in the
 * query string, that reports on `window.__life` whom it declared down and its counters. The
 * lifecycle spec hides, freezes and resumes the page around it.
 *
 *   /page-lifecycle.html?addr=ws://127.0.0.1:1234&hb=200&lifecycle=1
 */
import { createNode, memoryStore, pageLifecycle } from 'hearsay/lite'

export interface LifeState {
  id?: string
  error?: string
  /** Peers this page declared down (`peer:down`). */
  downs: string[]
  /** Neighbours in the overlay's active view. */
  active: () => string[]
  metric: (name: string) => number
}

declare global {
  interface Window { __life?: LifeState }
}

const params = new URLSearchParams(location.search)
const node = createNode({
  store: memoryStore(),
  seeds: [params.get('addr') ?? ''],
  heartbeatInterval: Number(params.get('hb') ?? 1000),
  pageLifecycle: params.get('lifecycle') === '1' ? pageLifecycle() : false,
  rttInterval: 0
})
const state: LifeState = {
  downs: [],
  active: () => node.overlay?.active ?? [],
  metric: (name) => node.metrics.get(name)
}
node.on('peer:down', ({ id }) => { state.downs.push(id) })
node.start().then(() => { state.id = node.id }, (err: unknown) => { state.error = String(err) })
window.__life = state

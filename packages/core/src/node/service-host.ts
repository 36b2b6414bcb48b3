import { UnsupportedError } from '../util/errors.js'
import type { Service, ServiceContext, ServiceLifecycle } from '../services/context.js'

/**
 * The services of one node: checks the `services` option, creates each service once with the
 * node's context (in `services` order) and runs their lifecycle hooks. It imports no service:
 * a bundler keeps only those the application lists.
 */
export class ServiceHost {
  /** `node.services`: each service's API under its name. */
  readonly apis: Record<string, object> = Object.create(null) as Record<string, object>
  readonly #hooks: ServiceLifecycle[] = []

  constructor (services: readonly Service[], ctx: ServiceContext) {
    if (!Array.isArray(services)) throw new TypeError('services must be an array (e.g. [stateService()])')
    const names = new Set<string>()
    for (const s of services) {
      if (s === null || typeof s !== 'object' || typeof s.create !== 'function') throw new TypeError('services holds something that is not a service')
      if (typeof s.name !== 'string' || s.name === '') throw new TypeError('a service needs a name')
      if (names.has(s.name)) throw new TypeError(`services lists ${s.name} twice`)
      names.add(s.name)
    }
    for (const s of services) {
      const api = s.create(ctx)
      if (api === null || typeof api !== 'object') throw new TypeError(`service ${s.name}: create() must return an object`)
      this.apis[s.name] = api
      this.#hooks.push(api as ServiceLifecycle)
    }
  }

  get (name: string): unknown { return this.apis[name] }

  /** After the identity is loaded, before the node listens. */
  async start (options: { signal?: AbortSignal }): Promise<void> {
    for (const h of this.#hooks) if (typeof h.start === 'function') await h.start(options)
  }

  /** The node runs (its overlay started). */
  afterStart (): void { for (const h of this.#hooks) if (typeof h.afterStart === 'function') h.afterStart() }

  /** stop() began. */
  beforeStop (): void { for (const h of this.#hooks) if (typeof h.beforeStop === 'function') h.beforeStop() }
}

/** A service that is not in the node's `services` option was used. */
export function notEnabled (name: string): UnsupportedError {
  return new UnsupportedError(`${name} is not enabled on this node: list it in createNode({ services: [${name}Service()] }) (or use allServices())`)
}

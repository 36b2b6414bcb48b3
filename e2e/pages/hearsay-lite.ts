/**
 * Browser entry: `hearsay/lite` (the browser entry without WebRTC: ws client, IndexedDB store)
 * under the shared harness (hearsay-harness.ts). Built as an application ships it (fixtures.ts
 * `SHIPPED_PAGES`): the 60 kB bundle budget is asserted on this very bundle.
 */
import { createNode, DEFAULT_STORE } from 'hearsay/lite'
import { installHarness } from './hearsay-harness.js'

installHarness(createNode, DEFAULT_STORE)

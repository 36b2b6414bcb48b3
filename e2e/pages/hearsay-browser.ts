/**
 * Browser entry: the `hearsay` package's main browser build (ws, WebRTC, IndexedDB) under the
 * shared harness (hearsay-harness.ts). Built as an application ships it (fixtures.ts
 * `SHIPPED_PAGES`); its size is reported as the entry with WebRTC.
 */
import { createNode, DEFAULT_STORE } from 'hearsay'
import { installHarness } from './hearsay-harness.js'

installHarness(createNode, DEFAULT_STORE)

/** What a page offers (the `window`); a fake in tests. */
export interface PageHost {
  document: { visibilityState: string, addEventListener: EventTarget['addEventListener'], removeEventListener: EventTarget['removeEventListener'] }
  addEventListener: EventTarget['addEventListener']
  removeEventListener: EventTarget['removeEventListener']
}

/** What the node does for each turn of the page's life (the overlay's `Membership`). */
export interface PageHooks {
  /** Tell the neighbours the page is paused (hidden, frozen) or running again (which re-checks the links). */
  setPaused: (paused: boolean) => void
  /** Re-check every link and rejoin at once (the page ran nothing for a while, or the network came back). */
  wake: () => void
}

/** The page the code runs in, if any (`globalThis` when it has a `document`). */
export function currentPage (): PageHost | undefined {
  const g = globalThis as Partial<PageHost>
  return typeof g.document?.addEventListener === 'function' && typeof g.addEventListener === 'function' ? g as PageHost : undefined
}

/**
 * Follows a page's lifecycle (https://developer.chrome.com/docs/web-platform/page-lifecycle-api):
 * hidden or `freeze` → paused (a hidden page's timers run about once a minute, a frozen one's
 * not at all), visible → resumed; `resume` → re-check the links (a frozen page heard nothing);
 * `pagehide` → `goodbye` (close every link, so that peers need not time out); `pageshow` from
 * the back-forward cache and `online` → re-check and rejoin at once. Returns the function that
 * stops following it.
 */
export function followPage (page: PageHost, hooks: PageHooks, goodbye: () => void): () => void {
  const doc = page.document
  const hidden = (): boolean => doc.visibilityState === 'hidden'
  const wake = (): void => { hooks.wake() }
  const on: Array<[PageHost | PageHost['document'], string, (e: Event) => void]> = [
    [doc, 'visibilitychange', () => { hooks.setPaused(hidden()) }],
    [doc, 'freeze', () => { hooks.setPaused(true) }],
    [doc, 'resume', () => { if (hidden()) wake(); else hooks.setPaused(false) }],
    [page, 'pagehide', goodbye],
    [page, 'pageshow', (e) => { if ((e as { persisted?: boolean }).persisted === true) wake() }],
    [page, 'online', wake]
  ]
  for (const [target, type, fn] of on) target.addEventListener(type, fn)
  // a page started in a background tab is paused from the start
  if (hidden()) hooks.setPaused(true)
  return () => { for (const [target, type, fn] of on) target.removeEventListener(type, fn) }
}

/** What `pageLifecycle()` gives `createNode`: starts following the page, if there is one, and returns how to stop. */
export type PageLifecycle = (hooks: PageHooks, goodbye: () => void) => (() => void) | undefined

/**
 * The `pageLifecycle` option's value (`followPage` on the page the code runs in; nothing outside
 * pages). `createNode` of `@hearsay/core` and `hearsay` pass it by default; `hearsay/lite`'s and
 * `new HearsayNode()` take it when given, so that a bundle that does not ask leaves it out.
 */
export function pageLifecycle (): PageLifecycle {
  return (hooks, goodbye) => {
    const page = currentPage()
    return page === undefined ? undefined : followPage(page, hooks, goodbye)
  }
}

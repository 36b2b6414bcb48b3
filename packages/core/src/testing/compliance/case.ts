/** One compliance test: a name and a function that throws on failure. */
export interface ComplianceCase {
  name: string
  fn: () => Promise<void>
}

/** Runs cases without a test framework (used inside browser pages); returns a report. */
export async function runCases (cases: ComplianceCase[]): Promise<{ passed: string[], failed: Array<{ name: string, error: string }> }> {
  const passed: string[] = []
  const failed: Array<{ name: string, error: string }> = []
  for (const c of cases) {
    try { await c.fn(); passed.push(c.name) } catch (err) { failed.push({ name: c.name, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) }) }
  }
  return { passed, failed }
}

import { readFile } from 'node:fs/promises'

/**
 * A secret kept in a file (the closed network's passphrase, coturn's shared secret): its
 * contents, trimmed. An unreadable or empty file is an error naming `what` and the path.
 */
export async function readSecretFile (path: string, what: string): Promise<string> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new Error(`cannot read the ${what} file ${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
  }
  const secret = text.trim()
  if (secret === '') throw new Error(`the ${what} file ${path} is empty`)
  return secret
}

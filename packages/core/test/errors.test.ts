import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { describe, expect, it } from 'vitest'
import * as errors from '../src/util/errors.js'
import { HearsayError } from '../src/util/errors.js'

describe('errors', () => {
  const classes = Object.entries(errors).filter(([, v]) => typeof v === 'function' && (v === HearsayError || v.prototype instanceof HearsayError)) as Array<[string, new (...args: any[]) => HearsayError]>

  it('every error class carries its name as a literal, so minified bundles still report it', () => {
    expect(classes.length).toBeGreaterThan(15)
    for (const [exported, Cls] of classes) {
      const e = new Cls('x', 'ERR_X')
      expect(e.name, exported).toBe(exported)
      expect(e).toBeInstanceOf(HearsayError)
      expect(typeof e.code).toBe('string')
    }
  })

  it('names survive minification (esbuild renames the classes)', async () => {
    const out = await build({
      entryPoints: [fileURLToPath(new URL('../src/util/errors.ts', import.meta.url))],
      bundle: true, minify: true, format: 'esm', write: false, platform: 'neutral'
    })
    const code = out.outputFiles[0]!.text
    const mod = await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`) as Record<string, new (...args: any[]) => Error>
    for (const [exported] of classes) expect(new mod[exported]!('x', 'ERR_X').name).toBe(exported)
  })

  it('every code a class uses is listed in ERROR_CODES', () => {
    for (const [exported, Cls] of classes) {
      if (Cls === HearsayError) continue
      const e = new Cls('x', 'ERR_X')
      expect(errors.ERROR_CODES, exported).toContain(e.code)
    }
  })
})

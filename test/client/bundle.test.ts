import { describe, expect, it } from 'bun:test'
import { resolve } from 'node:path'

const ROOT = resolve(import.meta.dir, '../..')

/** Bundles `entry` for the browser, minified, and returns its code. */
async function browserBundle(entry: string): Promise<{ inputs: string[]; code: string }> {
  const result = await Bun.build({
    entrypoints: [resolve(ROOT, entry)],
    target: 'browser',
    minify: true,
    metafile: true,
  })
  expect(result.success).toBe(true)
  expect(result.outputs.length).toBe(1)
  const inputs = Object.keys(result.metafile?.inputs ?? {})
  expect(inputs.length).toBeGreaterThan(0)
  return { inputs, code: (await result.outputs[0]?.text()) ?? '' }
}

describe('the client library in a browser bundle', () => {
  it('carries no server code, no Bun or Node module and no dependency', async () => {
    const bundle = await browserBundle('src/client/index.ts')
    expect(bundle.inputs.every((path) => path.startsWith('src/client/'))).toBe(true)
    expect(bundle.code).not.toMatch(/elysia|RoomStore|node:|bun:/i)
    // Measured at about 12 KB; a jump means something came along that should not.
    expect(bundle.code.length).toBeLessThan(20_000)
  })

  it('keeps the REST helper to Eden itself: nothing of the server comes along', async () => {
    const bundle = await browserBundle('src/client/rest.ts')
    expect(bundle.inputs).toContain('src/client/rest.ts')
    const outside = bundle.inputs.filter(
      (path) => !path.startsWith('src/client/') && !path.includes('node_modules/@elysiajs/eden/'),
    )
    expect(outside).toEqual([])
    expect(bundle.code.length).toBeLessThan(20_000)
  })
})

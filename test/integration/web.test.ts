import { describe, expect, it } from 'bun:test'
import { join } from 'node:path'
import { useServer } from '../support/harness.ts'

const { serve, http } = useServer()

describe('Web routes', () => {
  it('serves the chat page and its bundled script and style from this server', async () => {
    serve()
    const res = await http('/')
    expect(res.headers.get('content-type')).toStartWith('text/html')
    const html = await res.text()
    expect(html).toContain('aria-label="Rooms"')
    // Bun rewrote the page's TypeScript and CSS into bundled chunks served beside it.
    const assets = [...html.matchAll(/(?:src|href)="(\/[^"]+)"/g)].map((m) => m[1] ?? '')
    expect(assets.some((a) => a.endsWith('.js'))).toBe(true)
    expect(assets.some((a) => a.endsWith('.css'))).toBe(true)
    for (const asset of assets) {
      expect({ asset, status: (await http(asset)).status }).toEqual({ asset, status: 200 })
    }
    expect(html).not.toMatch(/(?:src|href)="(?:https?:)?\/\//)
  })

  it('serves a Swagger UI page that loads only local assets, with the validator off', async () => {
    serve()
    const page = await (await http('/swagger')).text()
    const urls = [...page.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] ?? '')
    expect(urls).toEqual([
      '/swagger/assets/swagger-ui.css',
      '/swagger/assets/swagger-ui-bundle.js',
      '/swagger/assets/init.js',
    ])
    const init = await (await http('/swagger/assets/init.js')).text()
    expect(init).toContain('"validatorUrl":null')
    expect(init).toContain('"url":"/swagger/json"')
    const bundle = await http('/swagger/assets/swagger-ui-bundle.js')
    expect(bundle.headers.get('content-type')).toStartWith('text/javascript')
    expect((await bundle.text()).length).toBeGreaterThan(100_000)
    expect((await http('/swagger/assets/swagger-ui.css')).headers.get('content-type')).toStartWith(
      'text/css',
    )
  })

  it('serves docs/protocol.md as readable text', async () => {
    serve()
    const res = await http('/docs/protocol.md')
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8')
    const file = await Bun.file(join(import.meta.dir, '../../docs/protocol.md')).text()
    expect(await res.text()).toBe(file)
  })

  it('keeps the page and the docs out of the OpenAPI document', async () => {
    serve()
    const doc = (await (await http('/swagger/json')).json()) as { paths: object }
    const paths = Object.keys(doc.paths)
    expect(paths).not.toContain('/')
    expect(paths.filter((p) => p.startsWith('/swagger') || p.startsWith('/docs'))).toEqual([])
  })
})

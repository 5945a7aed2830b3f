/**
 * The answers that belong to no route: a request line or headers over 16 KiB (431) and a
 * method a known path does not take (405 with Allow), both with the JSON error body.
 * (Over a socket, past Bun's own parser limit: test/integration/shipped.test.ts.)
 */
import { beforeEach, describe, expect, it } from 'bun:test'
import packageJson from '../../package.json'
import { BUN_HEADER_LIMIT_BYTES, MAX_HEADER_BYTES } from '../../src/transport/http-guards.ts'
import { useServer } from '../support/harness.ts'

const harness = useServer({ apiKey: 'k'.repeat(32) })

beforeEach(() => {
  harness.serve()
})

async function call(method: string, path: string, headers: Record<string, string> = {}) {
  await harness.server.ready
  const res = await harness.server.app.handle(
    new Request(`http://localhost${path}`, { method, headers }),
  )
  return {
    status: res.status,
    headers: res.headers,
    body: (await res.json()) as { error: { code: string; message: string } },
  }
}

const tooLarge = {
  error: {
    code: 'payload_too_large',
    message: `The request line and headers are over ${MAX_HEADER_BYTES} bytes`,
  },
}

describe('request lines and headers over 16 KiB', () => {
  it('answers 431 payload_too_large with the error body, for a long query or a big header', async () => {
    const query = await call('GET', `/rooms?q=${'a'.repeat(MAX_HEADER_BYTES)}`)
    expect({ status: query.status, body: query.body }).toEqual({ status: 431, body: tooLarge })
    const header = await call('GET', '/health', { 'x-big': 'a'.repeat(MAX_HEADER_BYTES) })
    expect({ status: header.status, body: header.body }).toEqual({ status: 431, body: tooLarge })
    // On a path with no route, too: the size is what is wrong.
    const nowhere = await call('GET', `/nowhere?q=${'a'.repeat(MAX_HEADER_BYTES)}`)
    expect(nowhere.status).toBe(431)
  })

  it('takes a query just under the limit', async () => {
    const res = await call('GET', `/rooms?q=${'a'.repeat(MAX_HEADER_BYTES - 200)}`)
    expect(res.status).toBe(200)
  })

  it('runs the server with Bun parser limit above its own, in every launch form', () => {
    const flag = `--max-http-header-size=${BUN_HEADER_LIMIT_BYTES}`
    expect(packageJson.scripts.start).toContain(flag)
    expect(packageJson.scripts.dev).toContain(flag)
    expect(packageJson.scripts.build).toContain(`--compile-exec-argv=${flag}`)
  })
})

describe('a method a known path does not take', () => {
  it('answers 405 method_not_allowed with Allow listing the methods it takes', async () => {
    const cases: [string, string, string][] = [
      ['DELETE', '/rooms', 'GET, HEAD, POST'],
      ['PUT', '/rooms/general', 'GET, HEAD'],
      ['POST', '/rooms/general/messages', 'GET, HEAD'],
      ['PATCH', '/metrics', 'GET, HEAD'],
      ['POST', '/ws', 'GET, HEAD'],
      ['GET', '/api/rooms/general/bans', 'POST'],
    ]
    for (const [method, path, allow] of cases) {
      const res = await call(method, path)
      expect({ method, path, status: res.status, allow: res.headers.get('allow') }).toEqual({
        method,
        path,
        status: 405,
        allow,
      })
      expect(res.body).toEqual({
        error: { code: 'method_not_allowed', message: 'This path does not take this method' },
      })
    }
  })

  it('still answers 404 not_found for a path no route has', async () => {
    const res = await call('DELETE', '/nowhere')
    expect(res.status).toBe(404)
    expect(res.headers.get('allow')).toBeNull()
    expect(res.body.error.code).toBe('not_found')
  })
})

import { afterEach, describe, expect, it } from 'bun:test'
import { join } from 'node:path'
import { type ChildServer, startChild } from '../support/child.ts'
import { useServer } from '../support/harness.ts'

const { serve, http } = useServer()

let child: ChildServer | undefined
afterEach(async () => {
  if (child) await child.stop()
  child = undefined
})

const json = { 'content-type': 'application/json' }

describe('MAX_BODY_BYTES', () => {
  it('answers 413 payload_too_large to a body over the limit, declared or chunked', async () => {
    serve({ maxBodyBytes: 2048 })
    const big = JSON.stringify({ name: 'x'.repeat(4000) })
    const declared = await http('/rooms', { method: 'POST', headers: json, body: big })
    expect(declared.status).toBe(413)
    expect(await declared.json()).toEqual({
      error: { code: 'payload_too_large', message: 'The request body is over 2048 bytes' },
    })
    // No Content-Length: the body arrives in chunks and is cut off while being read.
    const chunks = new ReadableStream({
      start(c) {
        for (let i = 0; i < 8; i++) c.enqueue(new TextEncoder().encode('x'.repeat(1000)))
        c.close()
      },
    })
    const chunked = await http('/rooms', { method: 'POST', headers: json, body: chunks })
    expect(chunked.status).toBe(413)
    expect((await chunked.json()) as unknown).toMatchObject({
      error: { code: 'payload_too_large' },
    })
    // Under the limit, the request is handled as usual.
    const fine = await http('/rooms', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ name: 'Fine' }),
    })
    expect(fine.status).toBe(201)
  })

  it('refuses eight concurrent 20 MB bodies without the RSS growing with their size', async () => {
    child = await startChild(['bun', join(import.meta.dir, '../../src/main.ts')], {
      LOG_LEVEL: 'info',
    })
    const url = `${child.httpUrl}/rooms`
    // Warm up the path once, so that the first measurement includes its code.
    await fetch(url, { method: 'POST', headers: json, body: 'x'.repeat(100_000) })
    const before = await child.rss()
    const body = new Uint8Array(20 * 1024 * 1024).fill(0x78)
    const answers = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const res = await fetch(url, { method: 'POST', headers: json, body })
        return { status: res.status, body: (await res.json()) as { error: { code: string } } }
      }),
    )
    for (const a of answers) {
      expect(a.status).toBe(413)
      expect(a.body.error.code).toBe('payload_too_large')
    }
    const after = await child.rss()
    // 160 MB were sent; a server that buffered them would have grown by that much.
    expect(after - before).toBeLessThan(16 * 1024 * 1024)
    expect((await fetch(`${child.httpUrl}/health`)).status).toBe(200)
  }, 20_000)
})

import { describe, expect, it } from 'bun:test'
import fc from 'fast-check'
import { ACTIONS } from '../../src/protocol/frames.ts'
import { useServer } from '../support/harness.ts'

const { serve, connect, http } = useServer()

describe('the WebSocket endpoint under random input', () => {
  it('answers every frame, never logs an internal error, and stays usable', async () => {
    const server = serve({
      rateLimitPerSec: 10_000,
      rateLimitBurst: 10_000,
      floodTolerance: 100_000,
    })
    const client = await connect()
    await client.join('general', 'fuzzer')
    const frames = fc.sample(
      fc.oneof(
        fc.jsonValue().map((v) => JSON.stringify(v)),
        fc.string(),
        fc
          .record(
            {
              action: fc.constantFrom(...ACTIONS),
              room: fc.oneof(
                fc.constant('general'),
                fc.constant('__proto__'),
                fc.string({ maxLength: 40 }),
              ),
              username: fc.oneof(fc.constant('constructor'), fc.string({ maxLength: 40 })),
              content: fc.oneof(fc.string({ maxLength: 50 }), fc.integer()),
              name: fc.string({ maxLength: 40 }),
              session: fc.string(),
              before: fc.oneof(fc.string(), fc.integer()),
              limit: fc.integer({ min: -5, max: 200 }),
              duration_ms: fc.integer({ min: -5, max: 100_000 }),
              last_ids: fc.dictionary(fc.string(), fc.string()),
              password: fc.string(),
              token: fc.string(),
            },
            { requiredKeys: ['action'] },
          )
          .map((v) => JSON.stringify(v)),
      ),
      { numRuns: 400, seed: 42 },
    )
    // In chunks, with a sentinel after each: once its pong is back, every frame before it
    // was handled (a chunk stays under the queue cap that a password hash can fill).
    for (let i = 0; i < frames.length; i += 20) {
      for (const f of frames.slice(i, i + 20)) client.sendRaw(f)
      await client.sync()
    }
    expect(server.logger.errors()).toEqual([])
    expect(client.frames.filter((f) => f.type === 'error' && f.code === 'internal_error')).toEqual(
      [],
    )
    const health = await http('/health')
    expect(health.status).toBe(200)
    client.close()
  })
})

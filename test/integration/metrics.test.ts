import { describe, expect, it } from 'bun:test'
import { defaultConfig } from '../../src/config.ts'
import { ServerMetrics } from '../../src/metrics.ts'
import { testEngine } from '../support/engine.ts'
import { useServer } from '../support/harness.ts'
import { metric, parseMetrics, type Sample } from '../support/metrics.ts'

const { serve, connect, member, http, createRoom } = useServer()

async function scrape(headers: Record<string, string> = {}): Promise<Sample[]> {
  const res = await http('/metrics', { headers })
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
  return parseMetrics(await res.text())
}

/** Every series' name and labels: what a scrape costs Prometheus. */
function seriesOf(samples: Sample[]): string[] {
  return samples.map((s) => `${s.name}${JSON.stringify(s.labels)}`).sort()
}

describe('GET /metrics', () => {
  it('counts frames, messages, deliveries, refusals, closes and resumes as traffic flows', async () => {
    serve()
    const before = await scrape()
    expect(metric(before, 'chat_connections')).toBe(0)
    expect(metric(before, 'chat_frames_received_total', { action: 'message' })).toBe(0)

    const alice = await member('general', 'alice')
    const bob = await member('general', 'bob')
    const delivered = bob.next('message', (f) => f.content === 'hi')
    alice.send({ action: 'message', room: 'general', content: 'hi' })
    await delivered
    alice.send({ action: 'typing', room: 'general' })
    await bob.next('typing')
    alice.send({ action: 'join', room: 'nowhere', username: 'alice' })
    await alice.error((f) => f.code === 'room_not_found')
    alice.send({ action: 'dance' })
    await alice.error((f) => f.code === 'invalid_message')
    expect((await http('/no-such-route')).status).toBe(404)

    const during = await scrape()
    expect(metric(during, 'chat_connections')).toBe(2)
    expect(metric(during, 'chat_members')).toBe(2)
    expect(metric(during, 'chat_rooms')).toBe(1)
    expect(metric(during, 'chat_frames_received_total', { action: 'join' })).toBe(3)
    expect(metric(during, 'chat_frames_received_total', { action: 'message' })).toBe(1)
    expect(metric(during, 'chat_frames_received_total', { action: 'typing' })).toBe(1)
    expect(metric(during, 'chat_frames_received_total', { action: 'invalid' })).toBe(1)
    expect(metric(during, 'chat_messages_accepted_total')).toBe(1)
    // welcome ×2, joined ×2, user_joined to alice, the message to both, typing to bob, 2 errors.
    expect(metric(during, 'chat_deliveries_total')).toBeGreaterThanOrEqual(10)
    expect(metric(during, 'chat_refusals_total', { code: 'room_not_found', transport: 'ws' })).toBe(
      1,
    )
    expect(
      metric(during, 'chat_refusals_total', { code: 'invalid_message', transport: 'ws' }),
    ).toBe(1)
    expect(metric(during, 'chat_refusals_total', { code: 'not_found', transport: 'http' })).toBe(1)
    // Every handled frame is in the histogram of its action, in some bucket.
    expect(metric(during, 'chat_frame_handle_seconds_count', { action: 'join' })).toBe(3)
    expect(
      metric(during, 'chat_frame_handle_seconds_bucket', { action: 'message', le: '+Inf' }),
    ).toBe(1)
    expect(metric(during, 'chat_frame_handle_seconds_sum', { action: 'message' })).toBeGreaterThan(
      0,
    )

    // Alice drops and comes back on a new connection: one room resumed, nothing lost.
    const offline = bob.next('presence', (f) => f.username === 'alice' && f.status === 'offline')
    alice.close()
    await offline
    const again = await connect()
    const resumed = again.next('resumed')
    again.send({ action: 'resume', session: alice.session })
    expect((await resumed).recovered).toBe(true)

    const after = await scrape()
    expect(metric(after, 'chat_closes_total', { code: '1000' })).toBe(1)
    expect(metric(after, 'chat_resumes_total', { recovered: 'true' })).toBe(1)
    expect(metric(after, 'chat_resumes_total', { recovered: 'false' })).toBe(0)
    expect(metric(after, 'chat_frames_received_total', { action: 'resume' })).toBe(1)
  })

  it('reports the process: CPU, RSS, heap, file descriptors, event-loop lag, version', async () => {
    serve()
    const samples = await scrape()
    expect(metric(samples, 'process_resident_memory_bytes')).toBeGreaterThan(10_000_000)
    expect(metric(samples, 'chat_heap_bytes')).toBeGreaterThan(100_000)
    expect(metric(samples, 'process_cpu_seconds_total')).toBeGreaterThan(0)
    expect(metric(samples, 'process_open_fds')).toBeGreaterThan(0)
    expect(metric(samples, 'process_max_fds')).toBeGreaterThan(0)
    expect(metric(samples, 'process_start_time_seconds')).toBeLessThanOrEqual(Date.now() / 1000)
    expect(metric(samples, 'chat_event_loop_lag_p99_seconds')).toBeGreaterThanOrEqual(0)
    expect(metric(samples, 'chat_event_loop_lag_max_seconds')).toBeGreaterThanOrEqual(0)
    expect(metric(samples, 'chat_build_info', { bun: Bun.version })).toBe(1)
    // Redis metrics only with REDIS_URL (the Redis engine).
    expect(samples.some((s) => s.name.startsWith('chat_redis_'))).toBe(testEngine === 'redis')
  })

  it('keeps a fixed set of series however many rooms, users and close codes there are', async () => {
    serve()
    const first = await member('general', 'alice')
    first.close(4321)
    await first.closed
    const base = seriesOf(await scrape())
    for (let i = 0; i < 5; i++) {
      const room = (await createRoom({ name: `zebra ${i}` })).id as string
      const c = await member(room, `yak${i}`)
      c.send({ action: 'message', room, content: `secret ${i}` })
      await c.next('message')
      c.close(4000 + i * 7)
      await c.closed
    }
    const later = await scrape()
    expect(seriesOf(later)).toEqual(base)
    const labels = later.flatMap((s) => Object.values(s.labels))
    expect(labels.some((v) => v.includes('zebra') || v.includes('yak'))).toBe(false)
    // A close code a client made up is counted as "other".
    expect(metric(later, 'chat_closes_total', { code: 'other' })).toBeGreaterThanOrEqual(1)
  })

  it('needs the bearer token when METRICS_TOKEN is set: 401 without, 403 wrong', async () => {
    serve({ metricsToken: 'm3trics-t0ken' })
    const none = await http('/metrics')
    expect(none.status).toBe(401)
    expect(await none.json()).toEqual({
      error: { code: 'not_authorized', message: 'The metrics token is required' },
    })
    const wrong = await http('/metrics', { headers: { authorization: 'Bearer nope' } })
    expect(wrong.status).toBe(403)
    expect(await wrong.json()).toEqual({
      error: { code: 'not_authorized', message: 'Wrong metrics token' },
    })
    const samples = await scrape({ authorization: 'Bearer m3trics-t0ken' })
    expect(
      metric(samples, 'chat_refusals_total', { code: 'not_authorized', transport: 'http' }),
    ).toBe(2)
  })
})

describe('ServerMetrics', () => {
  it('shows the Redis metrics the cluster code reports, when REDIS_URL is set', async () => {
    const config = defaultConfig({ redisUrl: 'redis://127.0.0.1:6379' })
    const stats = { rooms: 1, connections: 0, sessions: 0, members: 0 }
    const metrics = new ServerMetrics(
      { stats: () => stats },
      { redis: true, nodeId: config.nodeId },
    )
    try {
      expect(metric(parseMetrics(await metrics.text()), 'chat_redis_up')).toBe(0)
      metrics.redisUp(true)
      metrics.redisCommandFailed()
      metrics.redisCommandFailed()
      for (let i = 0; i < 3; i++) metrics.redisMessageReceived()
      const samples = parseMetrics(await metrics.text())
      expect(metric(samples, 'chat_redis_up')).toBe(1)
      expect(metric(samples, 'chat_redis_commands_failed_total')).toBe(2)
      expect(metric(samples, 'chat_redis_messages_received_total')).toBe(3)
      metrics.redisUp(false)
      expect(metric(parseMetrics(await metrics.text()), 'chat_redis_up')).toBe(0)
    } finally {
      metrics.close()
    }
  })
})

describe('docs/grafana-dashboard.json', () => {
  it('uses only metrics the server exports', async () => {
    const dashboard = await Bun.file(
      new URL('../../docs/grafana-dashboard.json', import.meta.url),
    ).text()
    const used = new Set(dashboard.match(/\b(chat|process)_[a-z0-9_]+/g) ?? [])
    expect(used.size).toBeGreaterThan(10)
    const metrics = new ServerMetrics(
      { stats: () => ({ rooms: 0, connections: 0, sessions: 0, members: 0 }) },
      { redis: true, nodeId: 'n' },
    )
    try {
      const names = new Set(parseMetrics(await metrics.text()).map((s) => s.name))
      for (const name of used) expect(names.has(name) ? name : `${name} (not exported)`).toBe(name)
    } finally {
      metrics.close()
    }
  })
})

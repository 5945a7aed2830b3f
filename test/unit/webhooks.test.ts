import { afterEach, describe, expect, it } from 'bun:test'
import { randomBytes } from 'node:crypto'
import { Webhook } from 'standardwebhooks'
import type { TimerHandle } from '../../src/domain/clock.ts'
import type { WebhookEventType } from '../../src/webhooks/events.ts'
import {
  BACKOFF_CAP_MS,
  backoffMs,
  judge,
  MAX_RETRY_AFTER_MS,
  parseRetryAfter,
} from '../../src/webhooks/retry.ts'
import { checkWebhookSecret } from '../../src/webhooks/signing.ts'
import { WebhookSender } from '../../src/webhooks/webhook-sender.ts'
import type {
  AttemptReport,
  DropReason,
  WebhookSenderOptions,
  WebhookSettings,
} from '../../src/webhooks/webhook-settings.ts'
import { FakeClock } from '../support/fake-clock.ts'
import { RecordingLogger } from '../support/logger.ts'
import { Inbox, type Reply, WebhookReceiver, within } from '../support/webhook-receiver.ts'

const SECRET = `whsec_${randomBytes(32).toString('base64')}`
const HOUR_MS = 3_600_000

/**
 * A FakeClock that counts the timers it fired. An attempt only ever starts from a timer
 * (a backoff, a pause) or from `enqueue`, so an unchanged count proves nothing was sent.
 */
class CountingClock extends FakeClock {
  fired = 0
  override setTimeout(fn: () => void, ms: number): TimerHandle {
    return super.setTimeout(() => {
      this.fired++
      fn()
    }, ms)
  }
}

interface Harness {
  sender: WebhookSender
  receiver: WebhookReceiver
  // Starts at the real time: `standardwebhooks` refuses timestamps 5 min off its clock.
  clock: CountingClock
  logger: RecordingLogger
  reports: Inbox<AttemptReport>
  drops: Inbox<[WebhookEventType, DropReason]>
}

const harnesses: Harness[] = []

interface Setup {
  /** The receiver's answers, in order; then `fallback` (default 204). */
  script?: Reply[]
  fallback?: Reply
  settings?: Partial<WebhookSettings>
  options?: Partial<WebhookSenderOptions>
}

/** A sender wired to a fresh receiver; `random` is 0.5, so backoff steps are known. */
function start({ script = [], fallback = 204, settings, options }: Setup = {}): Harness {
  const receiver = new WebhookReceiver(script, fallback)
  const clock = new CountingClock(Date.now())
  const logger = new RecordingLogger()
  const reports = new Inbox<AttemptReport>()
  const drops = new Inbox<[WebhookEventType, DropReason]>()
  const sender = new WebhookSender(
    { url: receiver.url, secret: SECRET, ...settings },
    {
      logger,
      clock,
      random: () => 0.5,
      concurrency: 1,
      onAttempt: (r) => reports.push(r),
      onDrop: (type, reason) => drops.push([type, reason]),
      ...options,
    },
  )
  const h = { sender, receiver, clock, logger, reports, drops }
  harnesses.push(h)
  return h
}

/** Advances the fake clock by `ms`, then waits (bounded) for what that should cause. */
function advanceUntil<T>(clock: FakeClock, ms: number, next: Promise<T>): Promise<T> {
  clock.advance(ms)
  return next
}

/** The wait the sender announced after attempt `n`, which must be a failure. */
async function retryIn(h: Harness, n: number): Promise<number> {
  const report = await h.reports.nth(n, `report of attempt ${n}`)
  expect(report.outcome).toBe('failed')
  expect(report.retryInMs).toBeNumber()
  return report.retryInMs as number
}

afterEach(async () => {
  for (const h of harnesses.splice(0)) {
    const drained = h.sender.drain(0)
    h.clock.advance(0)
    await within(drained, 'cleanup drain')
    await h.receiver.stop()
    expect(h.logger.errors()).toEqual([])
    expect(JSON.stringify(h.logger.entries)).not.toContain(SECRET.slice('whsec_'.length))
    expect(h.clock.pendingTimers()).toBe(0)
  }
})

describe('checkWebhookSecret', () => {
  it('accepts whsec_ and the base64 of 24 to 64 bytes', () => {
    for (const n of [24, 32, 64]) {
      expect(checkWebhookSecret(`whsec_${randomBytes(n).toString('base64')}`)).toBeUndefined()
    }
  })

  it('says what is wrong, without repeating the secret', () => {
    const key = randomBytes(32).toString('base64')
    const bad = [
      key,
      `whsec_${randomBytes(32).toString('base64url')}-_`,
      `whsec_${key} `,
      `whsec_${randomBytes(23).toString('base64')}`,
      `whsec_${randomBytes(65).toString('base64')}`,
    ]
    for (const secret of bad) {
      const problem = checkWebhookSecret(secret)
      expect(problem).toBeString()
      expect(problem).not.toContain(secret.slice(6, 20))
    }
  })
})

describe('webhook retry policy', () => {
  it('doubles the backoff from 1 s up to 5 min, half of it random (equal jitter)', () => {
    expect([1, 2, 3].map((n) => backoffMs(n, () => 0))).toEqual([500, 1000, 2000])
    expect(backoffMs(1, () => 0.999_999)).toBe(999)
    expect(backoffMs(30, () => 0)).toBe(BACKOFF_CAP_MS / 2)
    expect(backoffMs(30, () => 0.999_999)).toBe(BACKOFF_CAP_MS - 1)
  })

  it('reads Retry-After as seconds or as any of the three HTTP-date forms', () => {
    const now = Date.parse('Sun, 06 Nov 1994 08:49:00 GMT')
    expect(parseRetryAfter('120', now)).toBe(120_000)
    expect(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', now)).toBe(37_000)
    expect(parseRetryAfter('Sunday, 06-Nov-94 08:49:37 GMT', now)).toBe(37_000)
    expect(parseRetryAfter('Sun Nov  6 08:49:37 1994', now)).toBe(37_000)
  })

  it('bounds Retry-After to [0, 1 h] and ignores what it cannot read', () => {
    const now = 1_700_000_000_000
    expect(parseRetryAfter('999999', now)).toBe(MAX_RETRY_AFTER_MS)
    expect(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', now)).toBe(0)
    for (const v of [null, '', '1.5', '-3', 'soon']) expect(parseRetryAfter(v, now)).toBeUndefined()
  })

  it('delivers on 2xx, stops on 410, retries anything else', () => {
    expect(judge(200, null, 0)).toEqual({ kind: 'delivered' })
    expect(judge(299, null, 0)).toEqual({ kind: 'delivered' })
    expect(judge(410, null, 0)).toEqual({ kind: 'gone' })
    for (const status of [302, 400, 404, 500])
      expect(judge(status, '5', 0)).toEqual({ kind: 'retry' })
    expect(judge(429, '5', 0)).toEqual({ kind: 'retry', retryAfterMs: 5000 })
    expect(judge(503, '5', 0)).toEqual({ kind: 'retry', retryAfterMs: 5000 })
  })
})

describe('WebhookSender', () => {
  it('signs so that the standardwebhooks reference library verifies it', async () => {
    const h = start()
    h.sender.enqueue('room.created', { room: 'general' })
    const req = await h.receiver.requests.nth(1, 'the webhook')
    expect(req.method).toBe('POST')
    expect(req.headers['content-type']).toBe('application/json')
    expect(req.headers['webhook-id']).toMatch(/^msg_[\w-]+$/)
    expect(new Webhook(SECRET).verify(req.body, req.headers)).toEqual({
      type: 'room.created',
      timestamp: new Date(h.clock.now()).toISOString(),
      data: { room: 'general' },
    })
    expect(() => new Webhook(SECRET).verify(`${req.body} `, req.headers)).toThrow()
  })

  it('retries a failing receiver until it accepts, with the same id, delivering once', async () => {
    const h = start({ script: [500, 503] })
    h.sender.enqueue('message.created', { id: 1 })
    await advanceUntil(h.clock, await retryIn(h, 1), h.receiver.requests.nth(2, 'retry 1'))
    await advanceUntil(h.clock, await retryIn(h, 2), h.receiver.requests.nth(3, 'retry 2'))
    expect((await h.reports.nth(3, 'the delivery')).outcome).toBe('delivered')
    const attempts = h.receiver.requests.items
    expect(new Set(attempts.map((r) => r.headers['webhook-id'])).size).toBe(1)
    for (const r of attempts) new Webhook(SECRET).verify(r.body, r.headers)
    // Sentinel: the next request is a new event, so nothing was sent twice after the 2xx.
    h.sender.enqueue('message.created', { id: 2 })
    const next = await h.receiver.requests.nth(4, 'the sentinel')
    expect(next.headers['webhook-id']).not.toBe(attempts[0]?.headers['webhook-id'])
    expect(h.receiver.accepted()).toBe(2)
    expect([h.sender.delivered, h.sender.dropped, h.sender.pending]).toEqual([1, 0, 1])
  })

  it('times out an attempt that gets no answer, and retries it', async () => {
    const h = start({ script: ['hang'], options: { attemptTimeoutMs: 50 } })
    h.sender.enqueue('member.joined', { user: 'ann' })
    await h.receiver.requests.nth(1, 'the hanging attempt')
    const fired = h.clock.fired
    h.clock.advance(49)
    expect(h.clock.fired).toBe(fired)
    const report = await advanceUntil(h.clock, 1, h.reports.nth(1, 'the timeout'))
    expect(report).toMatchObject({ outcome: 'failed', error: 'timeout', retryInMs: 750 })
    await advanceUntil(h.clock, 750, h.reports.nth(2, 'the retry'))
    expect(h.reports.items[1]?.outcome).toBe('delivered')
  })

  it('waits as long as a 429 Retry-After asks before the next attempt', async () => {
    const h = start({ script: [{ status: 429, headers: { 'retry-after': '30' } }] })
    h.sender.enqueue('member.left', {})
    expect(await retryIn(h, 1)).toBe(30_000)
    const fired = h.clock.fired
    h.clock.advance(29_999)
    expect(h.clock.fired).toBe(fired)
    expect(h.receiver.requests.items).toHaveLength(1)
    const retry = await advanceUntil(h.clock, 1, h.receiver.requests.nth(2, 'the retry'))
    const first = h.receiver.requests.items[0]
    expect(Number(retry.headers['webhook-timestamp'])).toBeGreaterThanOrEqual(
      Number(first?.headers['webhook-timestamp']) + 30,
    )
  })

  it('stops sending for good after a 410 Gone, counting what it drops', async () => {
    const h = start({ script: [410] })
    h.sender.enqueue('room.created', {})
    h.sender.enqueue('room.deleted', {})
    expect((await h.reports.nth(1, 'the 410')).outcome).toBe('gone')
    expect(h.sender.enqueue('room.created', {})).toBe(false)
    expect(h.drops.items).toEqual([
      ['room.created', 'gone'],
      ['room.deleted', 'gone'],
      ['room.created', 'gone'],
    ])
    expect([h.sender.state, h.sender.pending, h.sender.dropped]).toEqual(['gone', 0, 3])
    // Nothing pending and no timer set: nothing can be sent any more.
    expect(h.clock.pendingTimers()).toBe(0)
    expect(h.receiver.requests.items).toHaveLength(1)
    expect(h.logger.entries.filter((e) => e.level === 'warn').map((e) => e.message)).toEqual([
      'webhook endpoint answered 410 Gone; no more webhooks are sent',
      'webhook events dropped unsent',
    ])
  })

  it('does not follow a redirect: the 3xx is a failure and the same URL is retried', async () => {
    const h = start({ script: [{ status: 302, headers: { location: '/elsewhere' } }] })
    h.sender.enqueue('member.kicked', { user: 'bob' })
    const first = await h.reports.nth(1, 'the redirect')
    expect(first).toMatchObject({ outcome: 'failed', status: 302 })
    await advanceUntil(h.clock, first.retryInMs as number, h.reports.nth(2, 'the retry'))
    expect(h.receiver.requests.items.map((r) => r.path)).toEqual(['/hooks', '/hooks'])
    expect(h.sender.delivered).toBe(1)
  })

  it('drops, counts and logs an event when the queue is full', async () => {
    const h = start({ settings: { queueLimit: 2 } })
    expect(h.sender.enqueue('message.created', { n: 1 })).toBe(true)
    expect(h.sender.enqueue('message.created', { n: 2 })).toBe(true)
    expect(h.sender.enqueue('member.banned', { n: 3 })).toBe(false)
    expect([h.sender.pending, h.sender.dropped]).toEqual([2, 1])
    expect(h.drops.items).toEqual([['member.banned', 'queue_full']])
    expect(h.logger.entries).toContainEqual({
      level: 'warn',
      message: 'webhook queue full; event dropped',
      fields: { type: 'member.banned', queueLimit: 2 },
    })
    await h.reports.nth(2, 'both queued events delivered')
    h.sender.enqueue('member.left', { n: 4 })
    const sentinel = await h.receiver.requests.nth(3, 'the sentinel')
    expect(JSON.parse(sentinel.body).data).toEqual({ n: 4 })
  })

  it('sends only the event types it was given', async () => {
    const h = start({ settings: { events: ['member.joined'] } })
    expect(h.sender.enqueue('message.created', {})).toBe(false)
    expect([h.sender.pending, h.sender.dropped]).toEqual([0, 0])
    h.sender.enqueue('member.joined', {})
    const req = await h.receiver.requests.nth(1, 'the member.joined webhook')
    expect(JSON.parse(req.body).type).toBe('member.joined')
  })

  it('has at most `concurrency` events in flight; one waiting to retry keeps its slot', async () => {
    const h = start({ script: ['hang', 'hang'], options: { concurrency: 2, attemptTimeoutMs: 50 } })
    for (const n of [1, 2, 3]) h.sender.enqueue('message.created', { n })
    await h.receiver.requests.nth(2, 'the first two attempts')
    h.clock.advance(50)
    expect((await h.reports.nth(2, 'both timeouts')).retryInMs).toBe(750)
    expect([h.receiver.requests.items.length, h.sender.pending]).toEqual([2, 3])
    h.clock.advance(750)
    // Sentinel: the third event is the fifth request, after both retries, not the third.
    const third = await h.receiver.requests.nth(5, 'the third event')
    expect(JSON.parse(third.body).data).toEqual({ n: 3 })
    const data = h.receiver.requests.items.slice(0, 4).map((r) => JSON.parse(r.body).data.n)
    expect(data.sort()).toEqual([1, 1, 2, 2])
  })

  it('drops an event whose data is not JSON, as a bug of the caller', () => {
    const h = start()
    expect(h.sender.enqueue('room.created', { size: 1n })).toBe(false)
    expect(h.drops.items).toEqual([['room.created', 'unserializable']])
    // Logged at error on purpose; taken out so that the check after the test passes.
    expect(h.logger.entries.splice(0).map((e) => e.level)).toEqual(['error'])
  })

  it('drains: keeps sending and retrying, and resolves once all is delivered', async () => {
    const h = start({ script: [500] })
    h.sender.enqueue('room.created', {})
    h.sender.enqueue('room.deleted', {})
    const drained = h.sender.drain(60_000)
    await advanceUntil(h.clock, await retryIn(h, 1), within(drained, 'the drain'))
    expect([h.sender.delivered, h.sender.dropped, h.sender.state]).toEqual([2, 0, 'closed'])
    expect(h.clock.pendingTimers()).toBe(0)
  })

  it('drains until the deadline, then drops and logs what is unsent; sends nothing after', async () => {
    const h = start({ script: [204, 'hang'] })
    h.sender.enqueue('member.joined', {})
    h.sender.enqueue('message.created', {})
    h.sender.enqueue('member.left', {})
    await h.reports.nth(1, 'the first delivery')
    await h.receiver.requests.nth(2, 'the hanging attempt')
    const drained = h.sender.drain(5000)
    h.clock.advance(4999)
    expect(h.sender.pending).toBe(2)
    await advanceUntil(h.clock, 1, within(drained, 'the drain deadline'))
    expect(h.drops.items).toEqual([
      ['message.created', 'shutdown'],
      ['member.left', 'shutdown'],
    ])
    expect(h.logger.entries).toContainEqual({
      level: 'warn',
      message: 'webhook events dropped unsent',
      fields: { reason: 'shutdown', count: 2, types: { 'message.created': 1, 'member.left': 1 } },
    })
    expect(h.sender.enqueue('room.created', {})).toBe(false)
    expect([h.sender.state, h.sender.dropped, h.sender.pending]).toEqual(['closed', 3, 0])
    expect(h.receiver.requests.items).toHaveLength(2)
  })

  it('retries for at least the retry window, then gives the event up', async () => {
    const h = start({ fallback: 500 })
    h.sender.enqueue('message.created', {})
    let elapsed = 0
    for (let n = 1; ; n++) {
      const report = await h.reports.nth(n, `attempt ${n}`)
      if (report.retryInMs === undefined) break
      // Every attempt that is followed by a retry started inside the window.
      expect(elapsed).toBeLessThan(HOUR_MS)
      elapsed += report.retryInMs
      h.clock.advance(report.retryInMs)
    }
    expect(elapsed).toBeGreaterThanOrEqual(HOUR_MS)
    expect(h.receiver.requests.items).toHaveLength(h.reports.items.length)
    expect([h.sender.pending, h.sender.dropped]).toEqual([0, 1])
    expect(h.drops.items).toEqual([['message.created', 'expired']])
    expect(h.logger.entries.map((e) => e.message)).toContain(
      'webhook event given up after retrying',
    )
    expect(h.clock.pendingTimers()).toBe(0)
  })

  it('refuses an unusable URL or secret without repeating either', () => {
    const logger = new RecordingLogger()
    expect(() => new WebhookSender({ url: 'ftp://h/x?t=tok', secret: SECRET }, { logger })).toThrow(
      'The webhook URL must be an http(s) URL',
    )
    expect(
      () => new WebhookSender({ url: 'https://h/', secret: 'whsec_c2hvcnQ=' }, { logger }),
    ).toThrow(/holds 5 bytes/)
  })
})

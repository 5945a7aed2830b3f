/**
 * The server's Prometheus metrics (`GET /metrics`), on prom-client's registry and text
 * format. The hot path (every frame, every publish) only bumps plain numbers in arrays:
 * a prom-client `inc()` measured ~290 ns and an `observe()` ~450 ns here, as each one
 * hashes its labels. The numbers are copied into prom-client's metrics when scraped.
 *
 * Every label has a fixed set of values (actions, error codes, known close codes):
 * nothing a client chooses, no room or user, so the series count stays fixed.
 * See docs/operations.md for what each metric means.
 */

import { heapSize } from 'bun:jsc'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { Counter, Gauge, Registry } from 'prom-client'
import type { Metrics } from './domain/ports.ts'
import { counterFrom, maxFds, openFds, Tally, TallyHistogram } from './metric-parts.ts'
import { ERRORS, type ErrorCode } from './protocol/errors.ts'
import { ACTIONS } from './protocol/frames.ts'
import { VERSION } from './version.ts'

/** What the Redis code reports; the metrics exist only when REDIS_URL is set. */
export interface RedisMetrics {
  /** The connection to Redis came up (true) or was lost (false). */
  redisUp(up: boolean): void
  /** A Redis command failed (error reply, timeout or lost connection). */
  redisCommandFailed(): void
  /** A pub/sub message arrived from Redis. */
  redisMessageReceived(): void
}

/** What a scrape reads from the store. */
export interface StoreGauges {
  stats(): { rooms: number; connections: number; sessions: number; members: number }
}

/** The label of a frame that did not parse (bad JSON, unknown action, wrong field). */
const INVALID = 'invalid'
const FRAME_LABELS: readonly string[] = [...ACTIONS, INVALID]
const FRAME_INDEX = new Map(FRAME_LABELS.map((a, i) => [a, i]))

const CODES = Object.keys(ERRORS) as ErrorCode[]
const CODE_INDEX = new Map(CODES.map((c, i) => [c, i]))

/** Close codes counted by their own label; any other code (a client may send 3000–4999) is `other`. */
const CLOSE_CODES = [
  1000, 1001, 1002, 1005, 1006, 1007, 1008, 1009, 1011, 4000, 4001, 4401,
] as const
const CLOSE_LABELS = [...CLOSE_CODES.map(String), 'other']
const CLOSE_INDEX = new Map<number, number>(CLOSE_CODES.map((c, i) => [c, i]))

/** Why a webhook event was given up (src/webhooks/webhook-settings.ts, DropReason). */
const WEBHOOK_DROP_REASONS = ['queue_full', 'expired', 'gone', 'shutdown', 'unserializable']

/** Why a WebSocket upgrade was refused. */
export type UpgradeRefusal = 'origin' | 'address_cap' | 'shutting_down'
const UPGRADE_LABELS: readonly UpgradeRefusal[] = ['origin', 'address_cap', 'shutting_down']

/**
 * The server's metrics. Transports call the counting methods; the store reports
 * resumes through the domain's `Metrics` port; the Redis code through `RedisMetrics`.
 */
export class ServerMetrics implements Metrics, RedisMetrics {
  readonly registry = new Registry()
  private readonly frames = new Float64Array(FRAME_LABELS.length)
  private readonly handle = new Tally(FRAME_LABELS.length)
  /** The webhook sender, when WEBHOOK_URL is set (its queue and deliveries). */
  webhooks: { readonly pending: number; readonly delivered: number } | undefined
  private readonly webhookDrops = new Float64Array(WEBHOOK_DROP_REASONS.length)
  private readonly refusalsWs = new Float64Array(CODES.length)
  private readonly refusalsHttp = new Float64Array(CODES.length)
  private readonly closes = new Float64Array(CLOSE_LABELS.length)
  private readonly upgrades = new Float64Array(UPGRADE_LABELS.length)
  private readonly resumes = new Float64Array(2)
  private messages = 0
  private deliveries = 0
  private redisIsUp = 0
  private redisFailed = 0
  private redisReceived = 0
  private readonly lag = monitorEventLoopDelay({ resolution: 20 })
  /** Subscribers of a Bun topic; set once the server listens. */
  subscribers: (topic: string) => number = () => 0

  constructor(store: StoreGauges, options: { redis: boolean; nodeId: string }) {
    const r = this.registry
    this.lag.enable()
    const gauge = (name: string, help: string, read: () => number | undefined) =>
      new Gauge({
        name,
        help,
        registers: [r],
        collect() {
          const v = read()
          if (v !== undefined) this.set(v)
        },
      })
    let stats = { rooms: 0, connections: 0, sessions: 0, members: 0 }
    // One stats() per scrape, read by the gauges below (the first one registered refreshes it).
    gauge('chat_connections', 'Open WebSocket connections', () => {
      stats = store.stats()
      return stats.connections
    })
    gauge(
      'chat_rooms',
      'Rooms that exist (default, created, and empty ones not yet deleted)',
      () => stats.rooms,
    )
    gauge(
      'chat_members',
      'Room memberships, counting users offline in their resume grace',
      () => stats.members,
    )
    gauge(
      'chat_sessions',
      'Sessions: connected users and those in their resume grace',
      () => stats.sessions,
    )
    counterFrom(
      r,
      'chat_frames_received_total',
      'Inbound WebSocket frames, by action ("invalid": did not parse)',
      'action',
      FRAME_LABELS,
      this.frames,
    )
    new TallyHistogram(this.handle, FRAME_LABELS, r)
    const refusals = new Counter({
      name: 'chat_refusals_total',
      help: 'Requests refused with an error, by error code and transport (ws: error frames, http: error responses)',
      labelNames: ['code', 'transport'],
      registers: [r],
      collect: () => {
        refusals.reset()
        CODES.forEach((code, i) => {
          refusals.inc({ code, transport: 'ws' }, this.refusalsWs[i] as number)
          refusals.inc({ code, transport: 'http' }, this.refusalsHttp[i] as number)
        })
      },
    })
    counterFrom(
      r,
      'chat_closes_total',
      'Closed WebSocket connections, by close code ("other": a code not listed in docs/protocol.md)',
      'code',
      CLOSE_LABELS,
      this.closes,
    )
    counterFrom(
      r,
      'chat_upgrades_refused_total',
      'WebSocket upgrades refused before opening, by reason',
      'reason',
      UPGRADE_LABELS,
      this.upgrades,
    )
    counterFrom(
      r,
      'chat_resumes_total',
      'Rooms resumed after a reconnect, by whether every missed message could be replayed',
      'recovered',
      ['false', 'true'],
      this.resumes,
    )
    const plain = (name: string, help: string, read: () => number) => {
      const c: Counter = new Counter({
        name,
        help,
        registers: [r],
        collect() {
          c.reset()
          c.inc(read())
        },
      })
    }
    plain(
      'chat_webhooks_delivered_total',
      'Webhook events the receiver accepted (2xx)',
      () => this.webhooks?.delivered ?? 0,
    )
    gauge(
      'chat_webhooks_pending',
      'Webhook events waiting, being sent or waiting for a retry',
      () => this.webhooks?.pending ?? 0,
    )
    counterFrom(
      r,
      'chat_webhooks_dropped_total',
      'Webhook events given up, by why (queue_full, expired, gone, shutdown, unserializable)',
      'reason',
      WEBHOOK_DROP_REASONS,
      this.webhookDrops,
    )
    plain(
      'chat_messages_accepted_total',
      'Chat messages accepted and published to their room',
      () => this.messages,
    )
    plain(
      'chat_deliveries_total',
      'Frames sent to clients: one per subscriber of each room broadcast, plus direct replies',
      () => this.deliveries,
    )
    new Gauge({
      name: 'chat_build_info',
      help: 'Always 1; the labels tell the version, the Bun version and the node id',
      labelNames: ['version', 'bun', 'node'],
      registers: [r],
      collect() {
        this.set({ version: VERSION, bun: Bun.version, node: options.nodeId }, 1)
      },
    })
    // Process metrics under their usual names, read where Bun reports them right.
    plain('process_cpu_seconds_total', 'User and system CPU time spent, in seconds', () => {
      const u = process.cpuUsage()
      return (u.user + u.system) / 1e6
    })
    gauge('process_resident_memory_bytes', 'Resident memory size (RSS) in bytes', () =>
      process.memoryUsage.rss(),
    )
    gauge(
      'chat_heap_bytes',
      'JavaScript heap in use after the last collection (JSC heapSize), in bytes',
      () => heapSize(),
    )
    gauge('process_open_fds', 'Open file descriptors', openFds)
    gauge('process_max_fds', 'Limit of open file descriptors', maxFds)
    const started = Date.now() / 1000 - process.uptime()
    gauge(
      'process_start_time_seconds',
      'Start time of the process since the epoch, in seconds',
      () => started,
    )
    gauge(
      'chat_event_loop_lag_p99_seconds',
      'Event-loop delay, 99th percentile since the previous scrape',
      () => this.lagOf(99),
    )
    gauge(
      'chat_event_loop_lag_max_seconds',
      'Event-loop delay, largest since the previous scrape',
      () => {
        const max = this.lag.max / 1e9
        this.lag.reset()
        return Number.isFinite(max) && max > 0 ? max : 0
      },
    )
    if (options.redis) {
      gauge('chat_redis_up', '1 while the connection to Redis is up, else 0', () => this.redisIsUp)
      plain(
        'chat_redis_commands_failed_total',
        'Redis commands that failed (error reply, timeout, lost connection)',
        () => this.redisFailed,
      )
      plain(
        'chat_redis_messages_received_total',
        'Pub/sub messages received from Redis',
        () => this.redisReceived,
      )
    }
  }

  private lagOf(percentile: number): number {
    const v = this.lag.percentile(percentile) / 1e9
    return Number.isFinite(v) ? v : 0
  }

  /** The Prometheus text exposition. */
  async text(): Promise<string> {
    return this.registry.metrics()
  }

  get contentType(): string {
    return this.registry.contentType
  }

  // ── Hot path: plain numbers only ─────────────────────────────────────────────

  /** One inbound frame was handled in `seconds`; `action` undefined when it did not parse. */
  frameHandled(action: string | undefined, seconds: number): void {
    const i = FRAME_INDEX.get(action ?? INVALID) ?? (FRAME_INDEX.get(INVALID) as number)
    this.frames[i] = (this.frames[i] as number) + 1
    this.handle.observe(i, seconds)
  }

  /** A webhook event was given up. */
  webhookDropped(reason: string): void {
    const i = WEBHOOK_DROP_REASONS.indexOf(reason)
    if (i >= 0) this.webhookDrops[i] = (this.webhookDrops[i] as number) + 1
  }

  messageAccepted(): void {
    this.messages++
  }

  /** `n` frames went out (a broadcast counts one per receiving subscriber). */
  delivered(n: number): void {
    this.deliveries += n
  }

  refused(code: ErrorCode, transport: 'ws' | 'http'): void {
    const i = CODE_INDEX.get(code)
    if (i === undefined) return
    const a = transport === 'ws' ? this.refusalsWs : this.refusalsHttp
    a[i] = (a[i] as number) + 1
  }

  closed(code: number): void {
    const i = CLOSE_INDEX.get(code) ?? CLOSE_LABELS.length - 1
    this.closes[i] = (this.closes[i] as number) + 1
  }

  upgradeRefused(reason: UpgradeRefusal): void {
    const i = UPGRADE_LABELS.indexOf(reason)
    this.upgrades[i] = (this.upgrades[i] as number) + 1
  }

  // ── Metrics port (the store) ─────────────────────────────────────────────────

  resumed(recovered: boolean): void {
    const i = recovered ? 1 : 0
    this.resumes[i] = (this.resumes[i] as number) + 1
  }

  // ── RedisMetrics ─────────────────────────────────────────────────────────────

  redisUp(up: boolean): void {
    this.redisIsUp = up ? 1 : 0
  }

  redisCommandFailed(): void {
    this.redisFailed++
  }

  redisMessageReceived(): void {
    this.redisReceived++
  }

  /** Stops the event-loop monitor (its timer); call when the server stops. */
  close(): void {
    this.lag.disable()
  }
}

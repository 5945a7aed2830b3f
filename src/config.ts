import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'

/**
 * The server's settings. This is the only file that reads the environment: `loadConfig`
 * parses it once, applies defaults, fails fast on bad values and returns a frozen Config.
 * Tests build a Config with `defaultConfig(overrides)` instead.
 */
export interface Config {
  /** TCP port to listen on (PORT, default 3000; 0 picks a free one). */
  readonly port: number
  /** Address to bind (HOST, default 0.0.0.0). */
  readonly host: string
  /** Rooms that exist from the start and are never deleted (DEFAULT_ROOMS, comma-separated, default "general"). */
  readonly defaultRooms: readonly string[]
  /** `max_users` of a room created without one, and of the default rooms (DEFAULT_MAX_USERS, default 1000). */
  readonly defaultMaxUsers: number
  /** Largest `max_users` a room may ask for (MAX_USERS_LIMIT, default 10000). */
  readonly maxUsersLimit: number
  /** Rooms the server holds at most (MAX_ROOMS, default 10000). */
  readonly maxRooms: number
  /** Messages kept per room (HISTORY_LIMIT, default 100). */
  readonly historyLimit: number
  /** Longest message content in characters (MAX_CONTENT_CHARS, default 4000). */
  readonly maxContentChars: number
  /** Largest inbound WebSocket frame in bytes (MAX_PAYLOAD_BYTES, default 16384); bigger → close 1009. */
  readonly maxPayloadBytes: number
  /** Sustained messages per second per user (RATE_LIMIT_PER_SEC, default 10). */
  readonly rateLimitPerSec: number
  /** Messages a user may send at once before the rate applies (RATE_LIMIT_BURST, default = RATE_LIMIT_PER_SEC). */
  readonly rateLimitBurst: number
  /** Refused frames a connection may rack up (refilled at RATE_LIMIT_PER_SEC) before it is closed with 1008 (FLOOD_TOLERANCE, default 100). */
  readonly floodTolerance: number
  /** Open WebSocket connections per client address (MAX_CONNECTIONS_PER_IP, default 100). */
  readonly maxConnectionsPerIp: number
  /** Rooms one client address may create per minute, REST and WS together (ROOM_CREATE_PER_MIN, default 30). */
  readonly roomCreatePerMin: number
  /** Origins allowed to open a WebSocket (ALLOWED_ORIGINS, comma-separated; empty = any). */
  readonly allowedOrigins: readonly string[]
  /** Behind a reverse proxy: take the client address from the first X-Forwarded-For entry (TRUST_PROXY=true; default false, as anyone can send that header). */
  readonly trustProxy: boolean
  /** A typist is shown as stopped this long after their last typing frame (TYPING_TIMEOUT_MS, default 5000). */
  readonly typingTimeoutMs: number
  /** Least time between two `typing` broadcasts of one user in one room (TYPING_THROTTLE_MS, default 1000). */
  readonly typingThrottleMs: number
  /** A connection that does not answer pings for this long is closed (HEARTBEAT_TIMEOUT_MS, default 30000; 0 = no heartbeat; Bun rounds up to whole seconds, 1–7 s become 8 s, ~4 s granularity). */
  readonly heartbeatTimeoutMs: number
  /** How long a dropped user keeps their names and may resume (RESUME_GRACE_MS, default 30000). */
  readonly resumeGraceMs: number
  /** An empty room is deleted this long after its last member left (ROOM_EMPTY_TTL_MS, default 300000). */
  readonly roomEmptyTtlMs: number
  /** A connection in no room for this long is closed with 4000 (UNJOINED_TIMEOUT_MS, default 60000). */
  readonly unjoinedTimeoutMs: number
  /** Bytes queued for one slow client before it is closed (BACKPRESSURE_LIMIT_BYTES, default 1048576). */
  readonly backpressureLimitBytes: number
  /** How long shutdown may take before the process exits anyway (SHUTDOWN_TIMEOUT_MS, default 10000). */
  readonly shutdownTimeoutMs: number
  /** Clients are told to reconnect after a random delay in [1 s, 1 s + this] (SHUTDOWN_RECONNECT_SPREAD_MS, default 5000). */
  readonly shutdownReconnectSpreadMs: number
  /** Rooms with at least this many members get presence as batched `presence_diff` frames (PRESENCE_DIFF_MIN_MEMBERS, default 200; 0 = never). */
  readonly presenceDiffMinMembers: number
  /** How often batched presence is flushed (PRESENCE_DIFF_INTERVAL_MS, default 100). */
  readonly presenceDiffIntervalMs: number
  /** Log level: debug, info, warn, error (LOG_LEVEL, default info). */
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error'
  /** Redis to share rooms with other nodes (REDIS_URL, redis:// or rediss://; unset = one process, all in memory). */
  readonly redisUrl: string | undefined
  /** Prefix of every Redis key and channel, so deployments can share one Redis (REDIS_KEY_PREFIX, default "chat:"). */
  readonly redisKeyPrefix: string
  /** This node's name in /health, logs and Redis (NODE_ID, default host name plus a random suffix). */
  readonly nodeId: string
  /** A node whose Redis heartbeat is older than this is dead and cleaned up after (NODE_TTL_MS, default 15000). */
  readonly nodeTtlMs: number
}

const DEFAULTS: Config = {
  port: 3000,
  host: '0.0.0.0',
  defaultRooms: ['general'],
  defaultMaxUsers: 1000,
  maxUsersLimit: 10_000,
  maxRooms: 10_000,
  historyLimit: 100,
  maxContentChars: 4000,
  maxPayloadBytes: 16 * 1024,
  rateLimitPerSec: 10,
  rateLimitBurst: 10,
  floodTolerance: 100,
  maxConnectionsPerIp: 100,
  roomCreatePerMin: 30,
  allowedOrigins: [],
  trustProxy: false,
  typingTimeoutMs: 5000,
  typingThrottleMs: 1000,
  heartbeatTimeoutMs: 30_000,
  resumeGraceMs: 30_000,
  roomEmptyTtlMs: 300_000,
  unjoinedTimeoutMs: 60_000,
  backpressureLimitBytes: 1024 * 1024,
  shutdownTimeoutMs: 10_000,
  shutdownReconnectSpreadMs: 5000,
  presenceDiffMinMembers: 200,
  presenceDiffIntervalMs: 100,
  logLevel: 'info',
  redisUrl: undefined,
  redisKeyPrefix: 'chat:',
  nodeId: 'node',
  nodeTtlMs: 15_000,
}

/** A Config with the defaults, changed by `overrides`. */
export function defaultConfig(overrides: Partial<Config> = {}): Config {
  return Object.freeze({ ...DEFAULTS, ...overrides })
}

type Env = Record<string, string | undefined>

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]
  if (raw === undefined || raw.trim() === '') return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`)
  }
  return n
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase()
  if (raw === undefined || raw === '') return fallback
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true
  if (['0', 'false', 'no', 'off'].includes(raw)) return false
  throw new Error(`${name} must be true or false, got "${env[name]}"`)
}

function list(env: Env, name: string, fallback: readonly string[]): readonly string[] {
  const raw = env[name]
  if (raw === undefined) return fallback
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
}

/** Reads the Config from the environment; throws with a clear message on a bad value. */
export function loadConfig(env: Env = Bun.env): Config {
  const rate = int(env, 'RATE_LIMIT_PER_SEC', DEFAULTS.rateLimitPerSec, 1, 10_000)
  const level = env.LOG_LEVEL ?? DEFAULTS.logLevel
  if (!['debug', 'info', 'warn', 'error'].includes(level)) {
    throw new Error(`LOG_LEVEL must be debug, info, warn or error, got "${level}"`)
  }
  const day = 24 * 3600 * 1000
  return defaultConfig({
    port: int(env, 'PORT', DEFAULTS.port, 0, 65_535),
    host: env.HOST?.trim() || DEFAULTS.host,
    defaultRooms: list(env, 'DEFAULT_ROOMS', DEFAULTS.defaultRooms),
    defaultMaxUsers: int(env, 'DEFAULT_MAX_USERS', DEFAULTS.defaultMaxUsers, 1, 1_000_000),
    maxUsersLimit: int(env, 'MAX_USERS_LIMIT', DEFAULTS.maxUsersLimit, 1, 1_000_000),
    maxRooms: int(env, 'MAX_ROOMS', DEFAULTS.maxRooms, 1, 10_000_000),
    historyLimit: int(env, 'HISTORY_LIMIT', DEFAULTS.historyLimit, 1, 100_000),
    maxContentChars: int(env, 'MAX_CONTENT_CHARS', DEFAULTS.maxContentChars, 1, 1_000_000),
    maxPayloadBytes: int(
      env,
      'MAX_PAYLOAD_BYTES',
      DEFAULTS.maxPayloadBytes,
      1024,
      16 * 1024 * 1024,
    ),
    rateLimitPerSec: rate,
    rateLimitBurst: int(env, 'RATE_LIMIT_BURST', rate, 1, 100_000),
    floodTolerance: int(env, 'FLOOD_TOLERANCE', DEFAULTS.floodTolerance, 1, 1_000_000),
    maxConnectionsPerIp: int(
      env,
      'MAX_CONNECTIONS_PER_IP',
      DEFAULTS.maxConnectionsPerIp,
      1,
      10_000_000,
    ),
    roomCreatePerMin: int(env, 'ROOM_CREATE_PER_MIN', DEFAULTS.roomCreatePerMin, 1, 1_000_000),
    allowedOrigins: list(env, 'ALLOWED_ORIGINS', DEFAULTS.allowedOrigins),
    trustProxy: bool(env, 'TRUST_PROXY', DEFAULTS.trustProxy),
    typingTimeoutMs: int(env, 'TYPING_TIMEOUT_MS', DEFAULTS.typingTimeoutMs, 100, day),
    typingThrottleMs: int(env, 'TYPING_THROTTLE_MS', DEFAULTS.typingThrottleMs, 0, day),
    heartbeatTimeoutMs: int(env, 'HEARTBEAT_TIMEOUT_MS', DEFAULTS.heartbeatTimeoutMs, 0, 960_000),
    resumeGraceMs: int(env, 'RESUME_GRACE_MS', DEFAULTS.resumeGraceMs, 0, day),
    roomEmptyTtlMs: int(env, 'ROOM_EMPTY_TTL_MS', DEFAULTS.roomEmptyTtlMs, 0, 30 * day),
    unjoinedTimeoutMs: int(env, 'UNJOINED_TIMEOUT_MS', DEFAULTS.unjoinedTimeoutMs, 100, day),
    backpressureLimitBytes: int(
      env,
      'BACKPRESSURE_LIMIT_BYTES',
      DEFAULTS.backpressureLimitBytes,
      64 * 1024,
      1024 * 1024 * 1024,
    ),
    shutdownTimeoutMs: int(env, 'SHUTDOWN_TIMEOUT_MS', DEFAULTS.shutdownTimeoutMs, 1000, 600_000),
    shutdownReconnectSpreadMs: int(
      env,
      'SHUTDOWN_RECONNECT_SPREAD_MS',
      DEFAULTS.shutdownReconnectSpreadMs,
      0,
      600_000,
    ),
    presenceDiffMinMembers: int(
      env,
      'PRESENCE_DIFF_MIN_MEMBERS',
      DEFAULTS.presenceDiffMinMembers,
      0,
      10_000_000,
    ),
    presenceDiffIntervalMs: int(
      env,
      'PRESENCE_DIFF_INTERVAL_MS',
      DEFAULTS.presenceDiffIntervalMs,
      10,
      60_000,
    ),
    logLevel: level as Config['logLevel'],
    redisUrl: redisUrl(env),
    redisKeyPrefix: env.REDIS_KEY_PREFIX ?? DEFAULTS.redisKeyPrefix,
    nodeId: nodeId(env),
    nodeTtlMs: int(env, 'NODE_TTL_MS', DEFAULTS.nodeTtlMs, 1000, day),
  })
}

function redisUrl(env: Env): string | undefined {
  const raw = env.REDIS_URL?.trim()
  if (!raw) return undefined
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new Error(`REDIS_URL must be redis://[:password@]host:port[/db], got "${raw}"`)
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new Error(`REDIS_URL must start with redis:// or rediss://, got "${raw}"`)
  }
  const db = url.pathname.replace(/^\//, '')
  if (db !== '' && !/^\d{1,2}$/.test(db)) {
    throw new Error(`REDIS_URL's database must be a number, got "${db}"`)
  }
  return raw
}

function nodeId(env: Env): string {
  const raw = env.NODE_ID?.trim()
  if (raw) {
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(raw)) {
      throw new Error(`NODE_ID must be 1-64 letters, digits, ".", "_" or "-", got "${raw}"`)
    }
    return raw
  }
  const host = (hostname().replace(/[^A-Za-z0-9._-]/g, '') || 'node').slice(0, 48)
  return `${host}-${randomBytes(3).toString('hex')}`
}

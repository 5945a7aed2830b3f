import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { parseArgs } from 'node:util'

/**
 * The server's settings. This is the only file that reads the environment and the
 * command line: `loadConfig` parses both once (a flag wins over its variable), applies
 * defaults, fails fast on bad values and returns a frozen Config. Tests build a Config
 * with `defaultConfig(overrides)` instead. `SETTINGS` is the one list of settings: the
 * parser, `--help` and the README's table are all made from it.
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
  /** Largest REST request body in bytes (MAX_BODY_BYTES, default 65536); bigger → 413, never buffered. */
  readonly maxBodyBytes: number
  /** When set, `GET /metrics` needs `Authorization: Bearer <token>` (METRICS_TOKEN; unset = open). */
  readonly metricsToken: string | undefined
  /** Log level: debug, info, warn, error (LOG_LEVEL, default info). */
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error'
  /** Log form: JSON lines, or colourised text for people; auto = text on a terminal (LOG_FORMAT, default auto). */
  readonly logFormat: 'auto' | 'json' | 'pretty'
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
  maxBodyBytes: 64 * 1024,
  metricsToken: undefined,
  logLevel: 'info',
  logFormat: 'auto',
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

/** One setting: its Config field, its variable (the flag is its kebab-case), default and meaning. */
export interface Setting {
  readonly key: keyof Config
  /** The environment variable, e.g. `RATE_LIMIT_PER_SEC`; the flag is `--rate-limit-per-sec`. */
  readonly env: string
  /** The default as shown to people; `literal` ones are values, the rest are notes. */
  readonly default: string
  readonly literal: boolean
  /** What it does; may hold `code` spans (the README shows them, --help strips the backticks). */
  readonly meaning: string
  /** Parses the raw text (undefined or blank: not set); `sofar` holds the settings above it. */
  readonly read: (raw: string | undefined, sofar: Partial<Config>) => unknown
}

/** The flag of a setting: `RATE_LIMIT_PER_SEC` → `rate-limit-per-sec`. */
export function flagOf(env: string): string {
  return env.toLowerCase().replaceAll('_', '-')
}

const DAY_MS = 24 * 3600 * 1000

function blank(raw: string | undefined): raw is undefined {
  return raw === undefined || raw.trim() === ''
}

function int(key: keyof Config, env: string, min: number, max: number, meaning: string): Setting {
  const fallback = DEFAULTS[key] as number
  return {
    key,
    env,
    default: String(fallback),
    literal: true,
    meaning,
    read: (raw) => {
      if (blank(raw)) return fallback
      const n = Number(raw)
      if (!Number.isInteger(n) || n < min || n > max) {
        throw new Error(`${env} must be a whole number from ${min} to ${max}, got "${raw}"`)
      }
      return n
    },
  }
}

function list(key: keyof Config, env: string, defaultText: string, meaning: string): Setting {
  const fallback = DEFAULTS[key] as readonly string[]
  return {
    key,
    env,
    default: defaultText,
    literal: fallback.length > 0,
    meaning,
    read: (raw) =>
      raw === undefined
        ? fallback
        : raw
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s !== ''),
  }
}

function oneOf<T extends string>(
  key: keyof Config,
  env: string,
  values: readonly T[],
  meaning: string,
): Setting {
  const fallback = DEFAULTS[key] as T
  return {
    key,
    env,
    default: fallback,
    literal: true,
    meaning,
    read: (raw) => {
      if (blank(raw)) return fallback
      const v = raw.trim().toLowerCase()
      if (!(values as readonly string[]).includes(v)) {
        throw new Error(`${env} must be ${values.join(', ')}, got "${raw}"`)
      }
      return v
    },
  }
}

/**
 * Every setting, in the order of `--help` and the README's table. A flag `--x-y` sets the
 * variable `X_Y` and wins over it.
 */
export const SETTINGS: readonly Setting[] = [
  int(
    'port',
    'PORT',
    0,
    65_535,
    'TCP port (0 picks a free one; the log line `listening` says which)',
  ),
  {
    key: 'host',
    env: 'HOST',
    default: DEFAULTS.host,
    literal: true,
    meaning: 'address to bind',
    read: (raw) => (blank(raw) ? DEFAULTS.host : raw.trim()),
  },
  list(
    'defaultRooms',
    'DEFAULT_ROOMS',
    'general',
    'comma-separated room names that exist from the start and are never deleted',
  ),
  int(
    'defaultMaxUsers',
    'DEFAULT_MAX_USERS',
    1,
    1_000_000,
    '`max_users` of the default rooms and of rooms created without one',
  ),
  int('maxUsersLimit', 'MAX_USERS_LIMIT', 1, 1_000_000, 'largest `max_users` a room may ask for'),
  int('maxRooms', 'MAX_ROOMS', 1, 10_000_000, 'rooms the server holds at most'),
  int('historyLimit', 'HISTORY_LIMIT', 1, 100_000, 'messages kept per room'),
  int('maxContentChars', 'MAX_CONTENT_CHARS', 1, 1_000_000, 'longest message, in characters'),
  int(
    'maxPayloadBytes',
    'MAX_PAYLOAD_BYTES',
    1024,
    16 * 1024 * 1024,
    'largest inbound WebSocket frame in bytes (bigger → close 1009)',
  ),
  int(
    'maxBodyBytes',
    'MAX_BODY_BYTES',
    1024,
    128 * 1024 * 1024,
    'largest REST request body in bytes (bigger → 413 `payload_too_large`; nothing past it is buffered)',
  ),
  int('rateLimitPerSec', 'RATE_LIMIT_PER_SEC', 1, 10_000, 'messages per second per user'),
  {
    key: 'rateLimitBurst',
    env: 'RATE_LIMIT_BURST',
    default: '= RATE_LIMIT_PER_SEC',
    literal: false,
    meaning: 'messages a user may send at once',
    read: (raw, sofar) =>
      blank(raw)
        ? (sofar.rateLimitPerSec ?? DEFAULTS.rateLimitPerSec)
        : int('rateLimitBurst', 'RATE_LIMIT_BURST', 1, 100_000, '').read(raw, sofar),
  },
  int(
    'floodTolerance',
    'FLOOD_TOLERANCE',
    1,
    1_000_000,
    'refused frames (refilled at `RATE_LIMIT_PER_SEC`) before a close with 1008',
  ),
  int(
    'maxConnectionsPerIp',
    'MAX_CONNECTIONS_PER_IP',
    1,
    10_000_000,
    'open WebSockets per client address',
  ),
  int(
    'roomCreatePerMin',
    'ROOM_CREATE_PER_MIN',
    1,
    1_000_000,
    'rooms one address may create per minute (REST and WS together)',
  ),
  list(
    'allowedOrigins',
    'ALLOWED_ORIGINS',
    '(empty: any)',
    'comma-separated Origins allowed to open a WebSocket',
  ),
  {
    key: 'trustProxy',
    env: 'TRUST_PROXY',
    default: 'false',
    literal: true,
    meaning:
      'behind a reverse proxy, take the client address (for per-address limits) from the first `X-Forwarded-For` entry; leave off when clients connect directly, as anyone can send that header',
    read: (raw) => {
      if (blank(raw)) return DEFAULTS.trustProxy
      const v = raw.trim().toLowerCase()
      if (['1', 'true', 'yes', 'on'].includes(v)) return true
      if (['0', 'false', 'no', 'off'].includes(v)) return false
      throw new Error(`TRUST_PROXY must be true or false, got "${raw}"`)
    },
  },
  int(
    'typingTimeoutMs',
    'TYPING_TIMEOUT_MS',
    100,
    DAY_MS,
    'a typist shows as stopped this long after their last typing frame',
  ),
  int(
    'typingThrottleMs',
    'TYPING_THROTTLE_MS',
    0,
    DAY_MS,
    'least time between two typing broadcasts of a user in a room',
  ),
  int(
    'heartbeatTimeoutMs',
    'HEARTBEAT_TIMEOUT_MS',
    0,
    960_000,
    'a connection silent this long (no pong) is closed; whole seconds, at least 8 s, 0 = off',
  ),
  int(
    'resumeGraceMs',
    'RESUME_GRACE_MS',
    0,
    DAY_MS,
    'how long a dropped user keeps their names and may resume (0 = leave at once)',
  ),
  int(
    'roomEmptyTtlMs',
    'ROOM_EMPTY_TTL_MS',
    0,
    30 * DAY_MS,
    'an empty room is deleted after this long',
  ),
  int(
    'unjoinedTimeoutMs',
    'UNJOINED_TIMEOUT_MS',
    100,
    DAY_MS,
    'a connection in no room is closed (4000) after this long',
  ),
  int(
    'backpressureLimitBytes',
    'BACKPRESSURE_LIMIT_BYTES',
    64 * 1024,
    1024 * 1024 * 1024,
    'unsent bytes for one client before it is closed',
  ),
  int(
    'shutdownTimeoutMs',
    'SHUTDOWN_TIMEOUT_MS',
    1000,
    600_000,
    'the process exits by then after SIGTERM/SIGINT',
  ),
  int(
    'shutdownReconnectSpreadMs',
    'SHUTDOWN_RECONNECT_SPREAD_MS',
    0,
    600_000,
    'clients are told to reconnect after 1 s + a random share of this',
  ),
  int(
    'presenceDiffMinMembers',
    'PRESENCE_DIFF_MIN_MEMBERS',
    0,
    10_000_000,
    'rooms this big get batched `presence_diff` frames (0 = never)',
  ),
  int(
    'presenceDiffIntervalMs',
    'PRESENCE_DIFF_INTERVAL_MS',
    10,
    60_000,
    'how often batched presence is sent',
  ),
  {
    key: 'metricsToken',
    env: 'METRICS_TOKEN',
    default: '(unset: open)',
    literal: false,
    meaning:
      'when set, `GET /metrics` needs `Authorization: Bearer <token>` (401 without, 403 wrong)',
    read: (raw) => (blank(raw) ? undefined : raw.trim()),
  },
  oneOf(
    'logLevel',
    'LOG_LEVEL',
    ['debug', 'info', 'warn', 'error'],
    'least level logged: `debug`, `info`, `warn` or `error`',
  ),
  oneOf(
    'logFormat',
    'LOG_FORMAT',
    ['auto', 'json', 'pretty'],
    '`json` (one object per line), `pretty` (colourised text for people) or `auto` (pretty on a terminal, else JSON)',
  ),
  {
    key: 'redisUrl',
    env: 'REDIS_URL',
    default: '(unset: one process)',
    literal: false,
    meaning:
      'Redis to share rooms with other nodes, `redis://[:password@]host:port[/db]` or `rediss://…`; unset = one process, all in memory',
    read: (raw) => redisUrl(raw),
  },
  {
    key: 'redisKeyPrefix',
    env: 'REDIS_KEY_PREFIX',
    default: DEFAULTS.redisKeyPrefix,
    literal: true,
    meaning: 'prefix of every Redis key and channel, so deployments can share one Redis',
    read: (raw) => raw ?? DEFAULTS.redisKeyPrefix,
  },
  {
    key: 'nodeId',
    env: 'NODE_ID',
    default: 'host name + random suffix',
    literal: false,
    meaning: "this node's name in `/health`, logs and Redis: 1–64 letters, digits, `.`, `_`, `-`",
    read: (raw) => nodeId(raw),
  },
  int(
    'nodeTtlMs',
    'NODE_TTL_MS',
    1000,
    DAY_MS,
    'a node whose Redis heartbeat is older than this is dead and cleaned up after',
  ),
]

/** What the command line asks for: run the server (the default), or one of the side modes. */
export type Mode = 'serve' | 'help' | 'version' | 'health-check'

/**
 * Reads the Config from the environment and the command-line flags (a flag wins over its
 * variable); throws one clear message naming the setting on a bad value or unknown flag.
 */
export function loadConfig(env: Env = Bun.env, argv: readonly string[] = []): Config {
  return parseCommandLine(env, argv).config
}

/** Like `loadConfig`, and also tells whether `--help`, `--version` or `--health-check` was given. */
export function parseCommandLine(
  env: Env,
  argv: readonly string[],
): { mode: Mode; config: Config } {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean', short: 'v' },
    'health-check': { type: 'boolean' },
  }
  for (const s of SETTINGS) options[flagOf(s.env)] = { type: 'string' }
  let values: Record<string, string | boolean | undefined>
  try {
    values = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false })
      .values as typeof values
  } catch (e) {
    throw new Error(argvMessage(e))
  }
  const mode: Mode = values.help
    ? 'help'
    : values.version
      ? 'version'
      : values['health-check']
        ? 'health-check'
        : 'serve'
  const sofar: Record<string, unknown> = {}
  for (const s of SETTINGS) {
    const flag = values[flagOf(s.env)]
    const raw = typeof flag === 'string' ? flag : env[s.env]
    try {
      sofar[s.key] = s.read(raw, sofar as Partial<Config>)
    } catch (e) {
      const message = (e as Error).message
      // Name the flag too when the value came from it.
      throw new Error(
        typeof flag === 'string' ? message.replace(s.env, `--${flagOf(s.env)}`) : message,
      )
    }
  }
  return { mode, config: defaultConfig(sofar as Partial<Config>) }
}

/** One line for a parseArgs failure. */
function argvMessage(e: unknown): string {
  const err = e as { code?: string; message?: string }
  const option = err.message?.match(/'(-{1,2}[^' ]+)/)?.[1]
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${option ?? ''} (see --help)`.replace('  ', ' ')
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return `option ${option ?? ''} needs a value, as in ${option ?? '--name'}=VALUE`
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${err.message?.match(/'([^']*)'/)?.[1] ?? ''}: settings are given as --name=VALUE (see --help)`
    default:
      return err.message ?? String(e)
  }
}

function redisUrl(raw: string | undefined): string | undefined {
  if (blank(raw)) return undefined
  const text = raw.trim()
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new Error(`REDIS_URL must be redis://[:password@]host:port[/db], got "${text}"`)
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new Error(`REDIS_URL must start with redis:// or rediss://, got "${text}"`)
  }
  const db = url.pathname.replace(/^\//, '')
  if (db !== '' && !/^\d{1,2}$/.test(db)) {
    throw new Error(`REDIS_URL's database must be a number, got "${db}"`)
  }
  return text
}

function nodeId(raw: string | undefined): string {
  if (!blank(raw)) {
    const text = raw.trim()
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(text)) {
      throw new Error(`NODE_ID must be 1-64 letters, digits, ".", "_" or "-", got "${text}"`)
    }
    return text
  }
  const host = (hostname().replace(/[^A-Za-z0-9._-]/g, '') || 'node').slice(0, 48)
  return `${host}-${randomBytes(3).toString('hex')}`
}

/** The settings as the README's Markdown table. */
export function settingsTable(): string {
  const rows = SETTINGS.map((s) => {
    const def = s.literal ? `\`${s.default}\`` : `*${s.default}*`
    return `| \`${s.env}\` | \`--${flagOf(s.env)}\` | ${def} | ${s.meaning} |`
  })
  return ['| variable | flag | default | meaning |', '|---|---|---|---|', ...rows].join('\n')
}

/** The `--help` text. */
export function helpText(version: string): string {
  const lines = [
    `chat-server ${version}: a real-time chat server (WebSocket at /ws, REST, /metrics, /health)`,
    '',
    'Usage: chat-server [--name=VALUE ...]',
    '       chat-server --help | --version | --health-check',
    '',
    'Each setting is a flag or an environment variable; the flag wins.',
    '',
    '  -h, --help          print this help and exit',
    '  -v, --version       print the version and exit',
    '  --health-check      GET /health on this host and port; exit 0 on 200, else 1',
    '',
    'Settings:',
  ]
  for (const s of SETTINGS) {
    lines.push(`  --${flagOf(s.env)}=VALUE`)
    lines.push(`      ${s.env}, default ${s.default}`)
    lines.push(`      ${s.meaning.replaceAll('`', '')}`)
  }
  return `${lines.join('\n')}\n`
}

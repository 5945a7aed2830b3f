import { DEFAULTS } from './config-fields.ts'
import {
  blank,
  DAY_MS,
  flagOf,
  int,
  list,
  nodeId,
  oneOf,
  redisUrl,
  type Setting,
} from './setting-kinds.ts'
import { AUTH_SETTINGS } from './settings-auth.ts'
import { WEBHOOK_SETTINGS } from './settings-webhooks.ts'

// The settings table: each setting's default, variable, flag, meaning and value parser, and
// the `--help` text and README table made from it. Pure data and parsers: reading the
// environment and the command line is config.ts's job alone.

export { DEFAULTS, flagOf, type Setting }

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
  {
    key: 'addressFile',
    env: 'ADDRESS_FILE',
    default: '(unset)',
    literal: false,
    meaning:
      'file the server writes its URL to once listening (`http://127.0.0.1:4001`), removed on shutdown; `--health-check` then asks that URL, whatever port was set and however',
    read: (raw) => (blank(raw) ? undefined : raw.trim()),
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
  int(
    'historyLimit',
    'HISTORY_LIMIT',
    1,
    100_000,
    'entries kept per room: messages and the changes to them',
  ),
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
  int(
    'readMarkersMaxMembers',
    'READ_MARKERS_MAX_MEMBERS',
    0,
    10_000_000,
    'rooms with more members than this broadcast no `read` frames (markers and `unread` still work; 0 = never broadcast)',
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
  ...AUTH_SETTINGS,
  ...WEBHOOK_SETTINGS,
]

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
    '  --health-check      GET /health at the URL in ADDRESS_FILE, else on HOST and PORT;',
    '                      exit 0 on 200, else 1',
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

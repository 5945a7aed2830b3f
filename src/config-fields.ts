import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from './webhooks/events.ts'

/** Every setting of the server, as `loadConfig` (config.ts) returns them: one field per setting. */
export interface Config {
  /** TCP port to listen on (PORT, default 3000; 0 picks a free one). */
  readonly port: number
  /** Address to bind (HOST, default 0.0.0.0). */
  readonly host: string
  /** When set, the server writes the URL it answers on (`http://host:port`) to this file once listening, and `--health-check` asks that URL (ADDRESS_FILE; unset = the health check asks HOST and PORT). */
  readonly addressFile: string | undefined
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
  /** Rooms with more members than this broadcast no `read` frames; markers and `unread` still work (READ_MARKERS_MAX_MEMBERS, default 100; 0 = never broadcast). */
  readonly readMarkersMaxMembers: number
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
  /** Sign-in: `off` (anyone may call themselves anything), `optional` or `required` (AUTH_MODE, default off). */
  readonly authMode: 'off' | 'optional' | 'required'
  /** HMAC secret of the app's tokens, HS256/384/512, at least 32 bytes (AUTH_JWT_SECRET). */
  readonly authJwtSecret: string | undefined
  /** The secret before the current one, still accepted while tokens signed with it live (AUTH_JWT_PREVIOUS_SECRET). */
  readonly authJwtPreviousSecret: string | undefined
  /** A PEM public key of the app's tokens: RS256, PS256, ES256 or EdDSA (AUTH_JWT_PUBLIC_KEY). */
  readonly authJwtPublicKey: string | undefined
  /** Where the app publishes its keys as a JWKS (AUTH_JWKS_URL). */
  readonly authJwksUrl: string | undefined
  /** The `iss` a token must have, when set (AUTH_ISSUER). */
  readonly authIssuer: string | undefined
  /** The `aud` a token must have, when set (AUTH_AUDIENCE). */
  readonly authAudience: string | undefined
  /** Seconds of clock skew allowed on `exp` and `nbf` (AUTH_CLOCK_TOLERANCE_S, default 30). */
  readonly authClockToleranceS: number
  /** In `required` mode, a connection not signed in by then is closed with 4401 (AUTH_TIMEOUT_MS, default 10000). */
  readonly authTimeoutMs: number
  /** Enables the server API (`/api/…`) behind `Authorization: Bearer <key>` (API_KEY; unset: 404). */
  readonly apiKey: string | undefined
  /** Where events are POSTed, signed as Standard Webhooks say (WEBHOOK_URL; unset: no webhooks). */
  readonly webhookUrl: string | undefined
  /** `whsec_` + base64: the key the webhooks are signed with (WEBHOOK_SECRET). */
  readonly webhookSecret: string | undefined
  /** The event types sent (WEBHOOK_EVENTS, comma-separated, default all). */
  readonly webhookEvents: readonly WebhookEventType[]
  /** Events waiting or being sent at most; past it new ones are dropped and counted (WEBHOOK_QUEUE_LIMIT, default 10000). */
  readonly webhookQueueLimit: number
}

/** The default of every setting; `defaultConfig` in config.ts starts from it. */
export const DEFAULTS: Config = {
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
  readMarkersMaxMembers: 100,
  maxBodyBytes: 64 * 1024,
  metricsToken: undefined,
  addressFile: undefined,
  logLevel: 'info',
  logFormat: 'auto',
  redisUrl: undefined,
  redisKeyPrefix: 'chat:',
  nodeId: 'node',
  nodeTtlMs: 15_000,
  authMode: 'off',
  authJwtSecret: undefined,
  authJwtPreviousSecret: undefined,
  authJwtPublicKey: undefined,
  authJwksUrl: undefined,
  authIssuer: undefined,
  authAudience: undefined,
  authClockToleranceS: 30,
  authTimeoutMs: 10_000,
  apiKey: undefined,
  webhookUrl: undefined,
  webhookSecret: undefined,
  webhookEvents: WEBHOOK_EVENT_TYPES,
  webhookQueueLimit: 10_000,
}

/**
 * The server's logger: one JSON object per line (time, level, node, message, then the
 * event's fields), or colourised text for people when the output is a terminal. Debug and
 * info go to stdout, warn and error to stderr.
 *
 * Our own rather than pino + pino-pretty: the server logs events, not traffic (a few
 * lines per connection at debug, none per message), so pino's speed buys nothing here,
 * while its pretty transport runs in a worker thread, which a `bun build --compile`
 * executable has to bundle as a separate entry, and the two packages bring about fifteen
 * dependencies. What we need on top of a JSON line, per-message rate limiting so that an
 * attack cannot fill the disk and redaction of secret fields, is a few lines either way.
 */
import { createHash } from 'node:crypto'
import type { Config } from './config.ts'
import type { LogFields, Logger } from './domain/ports.ts'

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const
type Level = keyof typeof LEVELS

/**
 * Warn and error lines with the same message: at most `LIMIT_BURST` at once, then one per
 * `LIMIT_REFILL_MS`. The next line that passes tells how many were dropped (`suppressed`).
 */
const LIMIT_BURST = 10
const LIMIT_REFILL_MS = 6000

/** Field names whose values are never written: secrets and chat content. */
const SECRET = /pass(word)?|token|secret|authori[sz]ation|cookie|content|^session$/i

/** A short, one-way tag of a session token for logs: the token itself resumes the session. */
export function sessionTag(session: string): string {
  return createHash('sha256').update(session).digest('base64url').slice(0, 10)
}

export interface LoggerOptions {
  level: Config['logLevel']
  /** `auto` is `pretty` when `isTerminal`, else `json`. */
  format: Config['logFormat']
  nodeId: string
  /** Where lines go; by default stdout (debug, info) and stderr (warn, error). */
  write?: (line: string, level: Level) => void
  isTerminal?: boolean
  /** Milliseconds since the epoch; injected by tests of the rate limit. */
  now?: () => number
}

function redact(fields: LogFields | undefined): LogFields | undefined {
  if (!fields) return fields
  let out: LogFields | undefined
  for (const key of Object.keys(fields)) {
    if (SECRET.test(key) && fields[key] !== undefined) {
      out ??= { ...fields }
      out[key] = '[redacted]'
    }
  }
  return out ?? fields
}

const COLOURS: Record<Level, string> = {
  debug: '\x1b[90m',
  info: '\x1b[36m',
  warn: '\x1b[33m',
  error: '\x1b[31m',
}
const RESET = '\x1b[0m'
const DIM = '\x1b[2m'

function prettyValue(v: unknown): string {
  if (typeof v === 'string') return /[\s"=]/.test(v) || v === '' ? JSON.stringify(v) : v
  return JSON.stringify(v) ?? String(v)
}

function pretty(time: number, level: Level, node: string, message: string, fields?: LogFields) {
  const clock = new Date(time).toISOString().slice(11, 23)
  const extra = fields
    ? Object.entries(fields)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => ` ${DIM}${k}=${RESET}${prettyValue(v)}`)
        .join('')
    : ''
  return `${DIM}${clock}${RESET} ${COLOURS[level]}${level.toUpperCase().padEnd(5)}${RESET} ${DIM}[${node}]${RESET} ${message}${extra}\n`
}

const defaultWrite = (line: string, level: Level) => {
  if (LEVELS[level] >= LEVELS.warn) process.stderr.write(line)
  else process.stdout.write(line)
}

/** The server's logger; see the file's comment. */
export function createLogger(options: LoggerOptions): Logger {
  const min = LEVELS[options.level]
  const now = options.now ?? Date.now
  const out = options.write ?? defaultWrite
  const isPretty =
    options.format === 'pretty' ||
    (options.format === 'auto' && (options.isTerminal ?? process.stdout.isTTY === true))
  const limits = new Map<string, { tokens: number; at: number; dropped: number }>()

  /** Whether a warn or error line with this message may be written now. */
  const admit = (message: string): number | false => {
    const t = now()
    let l = limits.get(message)
    if (!l) {
      l = { tokens: LIMIT_BURST, at: t, dropped: 0 }
      limits.set(message, l)
    }
    l.tokens = Math.min(LIMIT_BURST, l.tokens + (t - l.at) / LIMIT_REFILL_MS)
    l.at = t
    if (l.tokens < 1) {
      l.dropped++
      return false
    }
    l.tokens--
    const dropped = l.dropped
    l.dropped = 0
    return dropped
  }

  const write = (level: Level, message: string, fields?: LogFields) => {
    if (LEVELS[level] < min) return
    let safe = redact(fields)
    if (LEVELS[level] >= LEVELS.warn) {
      const dropped = admit(message)
      if (dropped === false) return
      if (dropped > 0) safe = { ...safe, suppressed: dropped }
    }
    const time = now()
    const line = isPretty
      ? pretty(time, level, options.nodeId, message, safe)
      : `${JSON.stringify({ time: new Date(time).toISOString(), level, node: options.nodeId, message, ...safe })}\n`
    out(line, level)
  }
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    enabled: (level) => LEVELS[level] >= min,
  }
}

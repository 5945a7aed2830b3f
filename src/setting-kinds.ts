import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { type Config, DEFAULTS } from './config-fields.ts'

// The kinds of setting (a whole number in a range, a list, one of some words) and the
// parsers of the settings that need their own; settings.ts lists the settings with them.

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

export const DAY_MS = 24 * 3600 * 1000

export function blank(raw: string | undefined): raw is undefined {
  return raw === undefined || raw.trim() === ''
}

export function int(
  key: keyof Config,
  env: string,
  min: number,
  max: number,
  meaning: string,
): Setting {
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

export function list(
  key: keyof Config,
  env: string,
  defaultText: string,
  meaning: string,
): Setting {
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

export function oneOf<T extends string>(
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

/** REDIS_URL: a redis:// or rediss:// URL, with a database number if any. */
export function redisUrl(raw: string | undefined): string | undefined {
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

/** NODE_ID: as given, or the host name plus a random suffix. */
export function nodeId(raw: string | undefined): string {
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

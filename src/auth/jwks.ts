import { createRemoteJWKSet, customFetch, type JWTVerifyGetKey } from 'jose'
import { type Clock, systemClock } from '../domain/clock.ts'

/**
 * The signing algorithms a JWKS key may verify: asymmetric only. An HMAC (`HS*`) or `none`
 * token is refused before any key is looked up, so such tokens never cause a fetch.
 * `Ed25519` is RFC 9864's fully specified name for `EdDSA` over Ed25519.
 */
export const JWKS_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA', 'Ed25519']

/** Largest key set document accepted, in UTF-16 units (a real one holds a few keys). */
export const MAX_KEY_SET_CHARS = 256 * 1024

/** How the key set is fetched and cached. Every field has a default. */
export interface KeySetOptions {
  /** The fetch used to get the key set. Default: the global `fetch`. */
  fetch?: (url: string, init: RequestInit) => Promise<Response>
  /** Abort a fetch after this long. Default 5000 ms. */
  timeoutMs?: number
  /**
   * After a successful fetch, a token with an unknown `kid` triggers no new fetch for this
   * long: random `kid`s cannot become a flood of fetches. Default 30000 ms.
   */
  cooldownMs?: number
  /** Refetch the keys when they are older than this. Default 600000 ms (10 min). */
  cacheMaxAgeMs?: number
  /** After a failed fetch, fetch again no sooner than this. Default 5000 ms. */
  failureBackoffMs?: number
  /** Time for the failure backoff. Default: the system clock. */
  clock?: Pick<Clock, 'now'>
}

/**
 * Why the key set could not be had (unreachable, timeout, bad answer). Its message is a
 * plain sentence that may be shown to the client: it names no URL.
 */
export class KeySetUnavailable extends Error {
  override readonly name = 'KeySetUnavailable'
}

/**
 * A key resolver for `jwtVerify` backed by the JWKS at `url`. Keys are cached and
 * refetched on an unknown `kid` (key rotation), at most once per cooldown; jose's
 * `createRemoteJWKSet` does the caching, this adds the failure backoff and checks the answer.
 * Throws at once when `url` is not an http(s) URL.
 */
export function remoteKeySet(url: string, opts: KeySetOptions = {}): JWTVerifyGetKey {
  const parsed = URL.parse(url)
  if (!parsed || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')) {
    throw new Error('The JWKS URL must be an http(s) URL')
  }
  const fetchImpl = opts.fetch ?? ((u, init) => fetch(u, init))
  const clock = opts.clock ?? systemClock
  const backoffMs = opts.failureBackoffMs ?? 5000
  // jose's cooldown counts from the last *successful* fetch only, so while the server is
  // down every token would fetch again; this holds fetches back after a failure too.
  let retryAt = Number.NEGATIVE_INFINITY
  return createRemoteJWKSet(parsed, {
    timeoutDuration: opts.timeoutMs ?? 5000,
    cooldownDuration: opts.cooldownMs ?? 30_000,
    cacheMaxAge: opts.cacheMaxAgeMs ?? 600_000,
    [customFetch]: async (href, init) => {
      if (clock.now() < retryAt) {
        throw new KeySetUnavailable('the key server failed a moment ago; try again shortly')
      }
      try {
        return await fetchKeySet(fetchImpl, href, init)
      } catch (err) {
        retryAt = clock.now() + backoffMs
        throw err
      }
    },
  })
}

/** Fetches the key set; every failure becomes a `KeySetUnavailable` with a plain reason. */
async function fetchKeySet(
  fetchImpl: NonNullable<KeySetOptions['fetch']>,
  href: string,
  init: RequestInit & { signal: AbortSignal },
): Promise<Response> {
  let response: Response
  let body: string
  try {
    response = await fetchImpl(href, init)
    body = await response.text()
  } catch {
    throw new KeySetUnavailable(
      init.signal.aborted
        ? 'the key server did not answer in time'
        : 'the key server is unreachable',
    )
  }
  // jose asks for `redirect: 'manual'`, so a redirect lands here as a 3xx, not followed.
  if (response.status !== 200) {
    throw new KeySetUnavailable(`the key server answered HTTP ${response.status}`)
  }
  if (body.length > MAX_KEY_SET_CHARS || !isKeySet(body)) {
    throw new KeySetUnavailable('the key server sent no valid key set')
  }
  return new Response(body, { status: 200, headers: { 'content-type': 'application/json' } })
}

function isKeySet(body: string): boolean {
  try {
    const json: unknown = JSON.parse(body)
    return (
      typeof json === 'object' && json !== null && Array.isArray((json as { keys?: unknown }).keys)
    )
  } catch {
    return false
  }
}

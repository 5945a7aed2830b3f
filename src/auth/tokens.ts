import { createPublicKey, type KeyObject } from 'node:crypto'
import { errors, type JWTPayload, type JWTVerifyOptions, jwtVerify } from 'jose'
import { normalizeName } from '../domain/names.ts'
import { ChatError } from '../protocol/errors.ts'
import { parseChatClaim, type RoomGrants } from './grants.ts'
import { JWKS_ALGORITHMS, type KeySetOptions, KeySetUnavailable, remoteKeySet } from './jwks.ts'

export { grantsRoom, moderatesRoom } from './grants.ts'

/** Sign-in settings, parsed and defaulted elsewhere. Exactly one key source is set. */
export interface AuthSettings {
  /** `off`: no tokens; `optional`: a token is checked when given; `required`: always. */
  mode: 'off' | 'optional' | 'required'
  /** HMAC secret for HS256/384/512, at least 32 bytes (see `checkSecret`). */
  jwtSecret?: string
  /** The secret before the last rotation: tokens it signed are still accepted. */
  jwtPreviousSecret?: string
  /** PEM (SPKI) public key: RSA (RS256, PS256), EC P-256 (ES256) or Ed25519 (EdDSA). */
  jwtPublicKey?: string
  /** URL of a JWKS: keys fetched, cached, refetched on an unknown `kid` (rate-limited). */
  jwksUrl?: string
  /** Required `iss` when set. */
  issuer?: string
  /** Required `aud` (one of the token's audiences) when set. */
  audience?: string
  /** Leeway for `exp` and `nbf`, in seconds. Default 30. */
  clockToleranceS: number
}

/** Who a verified token says its holder is, and what it grants. */
export interface Identity extends RoomGrants {
  /** The token's `sub`: the stable user id. */
  readonly id: string
  /** `name`, else `preferred_username`, else `sub`; normalized like any username. */
  readonly name: string
  /** When the token expires: `exp` in ms since the epoch. */
  readonly expiresAt: number
}

/** Longest token read, in bytes; a longer one is refused before it is parsed. */
export const MAX_TOKEN_BYTES = 8192
/** Shortest HMAC secret, in bytes: 256 bits (RFC 7518 §3.2, RFC 8725 §3.5). */
export const MIN_SECRET_BYTES = 32
/** Longest `sub`, in UTF-16 units: it becomes a user id in frames and logs. */
export const MAX_SUBJECT_CHARS = 256

const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512']

/** Says what is wrong with an HMAC secret, or `undefined` when it is long enough. */
export function checkSecret(secret: string): string | undefined {
  const bytes = Buffer.byteLength(secret, 'utf8')
  if (bytes < MIN_SECRET_BYTES) {
    return `The JWT secret is ${bytes} bytes; it must be at least ${MIN_SECRET_BYTES} bytes`
  }
  return undefined
}

/** One key and the only algorithms it may verify. */
interface KeySource {
  readonly algorithms: string[]
  verify(token: string, options: JWTVerifyOptions): Promise<JWTPayload>
}

/**
 * Verifies sign-in tokens (JWTs) against the configured key and turns them into an
 * `Identity`. Every failure is a `ChatError('invalid_token')` whose message says why in
 * plain words and never holds the token.
 *
 * @example
 * const verifier = TokenVerifier.create(settings)
 * const identity = await verifier.verify(token, clock.now())
 */
export class TokenVerifier {
  private constructor(
    private readonly settings: AuthSettings,
    /** Tried in order; the next one only when a signature did not verify. */
    private readonly sources: readonly KeySource[],
  ) {}

  /** Builds the verifier; throws a plain `Error` when the key settings are unusable. */
  static create(settings: AuthSettings, opts: KeySetOptions = {}): TokenVerifier {
    return new TokenVerifier(settings, keySources(settings, opts))
  }

  /** Checks the token at time `nowMs` (ms since the epoch) and returns who it names. */
  async verify(token: string, nowMs: number): Promise<Identity> {
    // Checked first so a huge token costs neither base64 decoding nor JSON parsing.
    if (token.length > MAX_TOKEN_BYTES || Buffer.byteLength(token, 'utf8') > MAX_TOKEN_BYTES) {
      throw invalidToken(`the token is longer than ${MAX_TOKEN_BYTES} bytes`)
    }
    const payload = await this.verifySignatureAndClaims(token, nowMs)
    return identityOf(payload)
  }

  private async verifySignatureAndClaims(token: string, nowMs: number): Promise<JWTPayload> {
    const { issuer, audience, clockToleranceS } = this.settings
    const options: JWTVerifyOptions = {
      issuer,
      audience,
      clockTolerance: clockToleranceS,
      currentDate: new Date(nowMs),
      requiredClaims: ['exp', 'sub'],
    }
    let failure: unknown
    for (const source of this.sources) {
      try {
        return await source.verify(token, { ...options, algorithms: source.algorithms })
      } catch (err) {
        failure = err
        // Only a bad signature may mean "signed with the previous secret"; an expired or
        // malformed token is refused as it is.
        if (!(err instanceof errors.JWSSignatureVerificationFailed)) break
      }
    }
    throw invalidToken(explain(failure))
  }
}

function keySources(settings: AuthSettings, opts: KeySetOptions): KeySource[] {
  const { jwtSecret, jwtPreviousSecret, jwtPublicKey, jwksUrl } = settings
  const given = [jwtSecret, jwtPublicKey, jwksUrl].filter((v) => v !== undefined).length
  if (given !== 1) {
    throw new Error('Set exactly one of the JWT secret, the JWT public key and the JWKS URL')
  }
  if (jwtPreviousSecret !== undefined && jwtSecret === undefined) {
    throw new Error('A previous JWT secret needs a current JWT secret')
  }
  if (jwtSecret !== undefined) {
    return [jwtSecret, jwtPreviousSecret].filter((s) => s !== undefined).map(secretSource)
  }
  if (jwtPublicKey !== undefined) return [publicKeySource(jwtPublicKey)]
  const keySet = remoteKeySet(jwksUrl as string, opts)
  return [
    {
      algorithms: JWKS_ALGORITHMS,
      verify: async (t, o) => (await jwtVerify(t, keySet, o)).payload,
    },
  ]
}

function secretSource(secret: string): KeySource {
  const problem = checkSecret(secret)
  if (problem) throw new Error(problem)
  const key = new TextEncoder().encode(secret)
  return {
    algorithms: HMAC_ALGORITHMS,
    verify: async (t, o) => (await jwtVerify(t, key, o)).payload,
  }
}

/**
 * A PEM key verifies only the algorithms of its own type. jose's `importSPKI` binds a key
 * to one algorithm; a node `KeyObject` is converted per algorithm, so one RSA key serves
 * both RS256 and PS256.
 */
function publicKeySource(pem: string): KeySource {
  let key: KeyObject
  try {
    key = createPublicKey(pem)
  } catch {
    throw new Error('The JWT public key is not a PEM public key')
  }
  const algorithms = algorithmsFor(key)
  return { algorithms, verify: async (t, o) => (await jwtVerify(t, key, o)).payload }
}

function algorithmsFor(key: KeyObject): string[] {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return ['RS256', 'PS256']
    case 'rsa-pss':
      return ['PS256']
    case 'ed25519':
      return ['EdDSA', 'Ed25519']
    case 'ec':
      if (key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return ['ES256']
  }
  throw new Error('The JWT public key must be RSA, EC P-256 or Ed25519')
}

/** The identity in a payload whose signature, `exp`, `nbf`, `iss` and `aud` were checked. */
function identityOf(payload: JWTPayload): Identity {
  const { sub, exp } = payload
  if (typeof sub !== 'string' || sub.length === 0) {
    throw invalidToken('the token subject (sub) is not a non-empty string')
  }
  if (sub.length > MAX_SUBJECT_CHARS) {
    throw invalidToken(`the token subject (sub) is longer than ${MAX_SUBJECT_CHARS} characters`)
  }
  const grants = parseChatClaim(payload.chat)
  if (typeof grants === 'string') throw invalidToken(grants)
  // jose has checked that `exp` is present and a number.
  return { id: sub, name: nameOf(payload, sub), expiresAt: (exp as number) * 1000, ...grants }
}

/** The first of `name`, `preferred_username` present, else `sub`, checked as a username. */
function nameOf(payload: JWTPayload, sub: string): string {
  const claim = payload.name !== undefined ? 'name' : 'preferred_username'
  const raw = payload[claim] ?? sub
  const which = payload[claim] === undefined ? 'sub' : claim
  if (typeof raw !== 'string') throw invalidToken(`the token's ${which} claim is not a string`)
  try {
    return normalizeName(raw, 'username')
  } catch (err) {
    const why = err instanceof ChatError ? `: ${lowerFirst(err.message)}` : ''
    throw invalidToken(`the token's ${which} claim is not a valid username${why}`)
  }
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1)
}

/** Plain words for a verification failure; jose's own messages are not shown. */
function explain(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'the token has expired'
  if (err instanceof errors.JWTClaimValidationFailed) return claimProblem(err.claim, err.reason)
  if (err instanceof errors.JOSEAlgNotAllowed) {
    return 'the token is signed with an algorithm this server does not accept'
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'the token signature is invalid'
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) {
    return 'the token is malformed'
  }
  if (err instanceof errors.JWKSNoMatchingKey) return 'no known key matches the token'
  if (err instanceof errors.JWKSMultipleMatchingKeys) {
    return 'several keys match the token; it must name its key (kid)'
  }
  if (err instanceof KeySetUnavailable) return `the token could not be checked: ${err.message}`
  if (err instanceof errors.JWKSTimeout) {
    return 'the token could not be checked: the key server did not answer in time'
  }
  if (err instanceof errors.JOSENotSupported)
    return 'the token uses an unsupported algorithm or key'
  // jose throws TypeError when a key does not fit the algorithm (e.g. a 1024-bit RSA key).
  return 'the token could not be verified'
}

function claimProblem(claim: string, reason: string): string {
  if (reason === 'missing') {
    if (claim === 'exp') return 'the token has no expiry (exp)'
    if (claim === 'sub') return 'the token has no subject (sub)'
    if (claim === 'iss') return 'the token names no issuer (iss)'
    if (claim === 'aud') return 'the token names no audience (aud)'
  }
  if (reason === 'check_failed') {
    if (claim === 'nbf') return 'the token is not valid yet'
    if (claim === 'iss') return 'the token has the wrong issuer'
    if (claim === 'aud') return 'the token is meant for another audience'
  }
  // jose names only registered claims (exp, nbf, iat, …), never a value from the token.
  return `the token's ${claim} claim is invalid`
}

function invalidToken(message: string): ChatError {
  return new ChatError('invalid_token', message)
}

import { MIN_SECRET_BYTES } from './auth/tokens.ts'
import type { Config } from './config-fields.ts'
import { blank, int, oneOf, type Setting } from './setting-kinds.ts'

// The sign-in settings (docs/sign-in.md): the mode, the key the app's tokens are checked
// with, and the claims checked. Secrets are never echoed in an error.

/** A setting whose value is text, unset when blank. */
function text(
  key: keyof Config,
  env: string,
  defaultText: string,
  meaning: string,
  check?: (value: string) => void,
): Setting {
  return {
    key,
    env,
    default: defaultText,
    literal: false,
    meaning,
    read: (raw) => {
      if (blank(raw)) return undefined
      const value = raw.trim()
      check?.(value)
      return value
    },
  }
}

/** A secret: refused when shorter than MIN_SECRET_BYTES, without showing it. */
function secret(env: string): (value: string) => void {
  return (value) => {
    const bytes = Buffer.byteLength(value)
    if (bytes < MIN_SECRET_BYTES)
      throw new Error(`${env} must be at least ${MIN_SECRET_BYTES} bytes long, got ${bytes}`)
  }
}

function pem(value: string): void {
  if (!/^-----BEGIN PUBLIC KEY-----[\s\S]+-----END PUBLIC KEY-----$/.test(value))
    throw new Error(
      'AUTH_JWT_PUBLIC_KEY must be a PEM public key ("-----BEGIN PUBLIC KEY-----" … "-----END PUBLIC KEY-----")',
    )
}

function httpUrl(value: string): void {
  let url: URL | undefined
  try {
    url = new URL(value)
  } catch {}
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:')
    throw new Error(`AUTH_JWKS_URL must be an http:// or https:// URL, got "${value}"`)
}

export const AUTH_SETTINGS: readonly Setting[] = [
  oneOf(
    'authMode',
    'AUTH_MODE',
    ['off', 'optional', 'required'],
    "sign-in with the app's tokens: `off` (names are free, as without it), `optional` (signed-in and anonymous connections) or `required` (every connection signs in); see docs/sign-in.md",
  ),
  text(
    'authJwtSecret',
    'AUTH_JWT_SECRET',
    '(unset)',
    "HMAC secret of the app's tokens (HS256, HS384, HS512), at least 32 bytes",
    secret('AUTH_JWT_SECRET'),
  ),
  text(
    'authJwtPreviousSecret',
    'AUTH_JWT_PREVIOUS_SECRET',
    '(unset)',
    'the secret before `AUTH_JWT_SECRET`, still accepted (for a rotation)',
    secret('AUTH_JWT_PREVIOUS_SECRET'),
  ),
  text(
    'authJwtPublicKey',
    'AUTH_JWT_PUBLIC_KEY',
    '(unset)',
    "PEM public key of the app's tokens (RS256, PS256, ES256, EdDSA, by the key's type)",
    pem,
  ),
  text(
    'authJwksUrl',
    'AUTH_JWKS_URL',
    '(unset)',
    "URL of the app's keys as a JWKS: cached, fetched again for an unknown `kid` (at most every 30 s)",
    httpUrl,
  ),
  text('authIssuer', 'AUTH_ISSUER', '(unset: not checked)', 'the `iss` every token must have'),
  text('authAudience', 'AUTH_AUDIENCE', '(unset: not checked)', 'the `aud` every token must have'),
  int(
    'authClockToleranceS',
    'AUTH_CLOCK_TOLERANCE_S',
    0,
    3600,
    'seconds of clock skew allowed on `exp` and `nbf`',
  ),
  text(
    'apiKey',
    'API_KEY',
    '(unset: no server API)',
    "enables the server API for the app's backend, `/api/…` with `Authorization: Bearer <key>`; at least 16 characters",
    (value) => {
      if (value.length < 16)
        throw new Error(`API_KEY must be at least 16 characters, got ${value.length}`)
    },
  ),
  int(
    'authTimeoutMs',
    'AUTH_TIMEOUT_MS',
    100,
    3_600_000,
    'in `required` mode, a connection that has not signed in by then is closed with 4401',
  ),
]

/**
 * The checks between sign-in settings, once all are read: a mode other than `off` needs
 * exactly one kind of key, a previous secret needs a current one.
 */
export function checkAuthSettings(config: Partial<Config>): void {
  const keys = [config.authJwtSecret, config.authJwtPublicKey, config.authJwksUrl].filter(
    (k) => k !== undefined,
  )
  if (config.authMode !== undefined && config.authMode !== 'off' && keys.length === 0)
    throw new Error(
      `AUTH_MODE=${config.authMode} needs a key: AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY or AUTH_JWKS_URL`,
    )
  if (keys.length > 1)
    throw new Error('Set only one of AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY and AUTH_JWKS_URL')
  if (config.authJwtPreviousSecret !== undefined && config.authJwtSecret === undefined)
    throw new Error('AUTH_JWT_PREVIOUS_SECRET needs AUTH_JWT_SECRET')
}

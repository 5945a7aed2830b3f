/**
 * Tokens for the sign-in tests (AUTH_MODE), minted with `jose` as an app's backend would
 * (docs/sign-in.md), and the `auth` frame that hands one to the server.
 */
import { SignJWT } from 'jose'
import type { Frame, TestClient } from './ws-client.ts'

/** An HMAC secret long enough for AUTH_JWT_SECRET (32 bytes at least). */
export const TEST_JWT_SECRET = 'a-test-secret-of-at-least-32-bytes!!'

export interface TestClaims {
  sub?: string
  name?: string
  chat?: unknown
  /** Seconds from `now` to `exp`; default one hour. */
  ttlS?: number
}

/** A HS256 token for `claims`, issued at `now` (ms), signed with `key` (TEST_JWT_SECRET). */
export function testToken(
  claims: TestClaims,
  now = Date.now(),
  key: Uint8Array = new TextEncoder().encode(TEST_JWT_SECRET),
): Promise<string> {
  const { ttlS = 3600, ...rest } = claims
  const jwt = new SignJWT(rest as Record<string, unknown>)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt(Math.floor(now / 1000))
    .setExpirationTime(Math.floor(now / 1000) + ttlS)
  if (claims.sub !== undefined) jwt.setSubject(claims.sub)
  return jwt.sign(key)
}

/** Sends `auth` and returns the reply (`authenticated` or `error`). */
export function auth(client: TestClient, jwt: string): Promise<Frame> {
  return client.request({ action: 'auth', token: jwt }, ['authenticated'])
}

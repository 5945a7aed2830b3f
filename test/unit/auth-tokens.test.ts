import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'bun:test'
import { generateKeyPairSync } from 'node:crypto'
import {
  type CryptoKey,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type JWK,
  type JWTHeaderParameters,
  type JWTPayload,
  SignJWT,
} from 'jose'
import type { KeySetOptions } from '../../src/auth/jwks.ts'
import {
  type AuthSettings,
  checkSecret,
  grantsRoom,
  MAX_TOKEN_BYTES,
  moderatesRoom,
  TokenVerifier,
} from '../../src/auth/tokens.ts'
import { ChatError } from '../../src/protocol/errors.ts'
import { FakeClock } from '../support/fake-clock.ts'
import { JwksServer } from '../support/jwks-server.ts'

const NOW = 1_700_000_000_000
const NOW_S = NOW / 1000
const SECRET = 'current-secret-0123456789abcdefghij'
const PREVIOUS = 'previous-secret-0123456789abcdefghi'
const secretKey = (s: string) => new TextEncoder().encode(s)

function settings(over: Partial<AuthSettings>): AuthSettings {
  return { mode: 'required', clockToleranceS: 30, ...over }
}

function verifier(over: Partial<AuthSettings>, opts?: KeySetOptions): TokenVerifier {
  return TokenVerifier.create(settings(over), opts)
}

/** A signed token: `sub` and `exp` (10 min after NOW) unless `claims` overrides them. */
function mint(
  key: CryptoKey | Uint8Array,
  claims: Record<string, unknown> = {},
  header: JWTHeaderParameters = { alg: 'HS256' },
): Promise<string> {
  const payload: JWTPayload = { sub: 'user-1', exp: NOW_S + 600, ...claims }
  return new SignJWT(payload).setProtectedHeader(header).sign(key)
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

/** An unsecured JWT (RFC 7519 §6): header `alg: none`, empty signature. */
function unsecured(payload: JWTPayload = { sub: 'user-1', exp: NOW_S + 600 }): string {
  return `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(payload)}.`
}

/** Awaits a refusal: an `invalid_token` whose message holds no part of the token. */
async function refusal(v: TokenVerifier, token: string, nowMs = NOW): Promise<string> {
  const err = await v.verify(token, nowMs).then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(ChatError)
  const { code, message } = err as ChatError
  expect(code).toBe('invalid_token')
  for (const part of token.split('.').filter((p) => p.length >= 8)) {
    expect(message).not.toContain(part)
  }
  return message
}

describe('TokenVerifier with a secret', () => {
  const v = verifier({ jwtSecret: SECRET })

  it('turns a good HS256 token into an identity', async () => {
    const token = await mint(secretKey(SECRET), { name: 'Alice' })
    expect(await v.verify(token, NOW)).toEqual({
      id: 'user-1',
      name: 'Alice',
      expiresAt: (NOW_S + 600) * 1000,
      rooms: [],
      moderates: [],
    })
  })

  it('accepts HS384 and HS512 too', async () => {
    for (const alg of ['HS384', 'HS512']) {
      const token = await mint(secretKey(SECRET), {}, { alg })
      expect((await v.verify(token, NOW)).id).toBe('user-1')
    }
  })

  it('takes the name from name, else preferred_username, else sub', async () => {
    const key = secretKey(SECRET)
    const both = await mint(key, { name: 'Alice', preferred_username: 'ally' })
    expect((await v.verify(both, NOW)).name).toBe('Alice')
    const preferred = await mint(key, { preferred_username: 'ally' })
    expect((await v.verify(preferred, NOW)).name).toBe('ally')
    expect((await v.verify(await mint(key), NOW)).name).toBe('user-1')
  })

  it('normalizes the name like a username (NFC, trimmed)', async () => {
    const token = await mint(secretKey(SECRET), { name: ' Zoe\u0308 ' })
    expect((await v.verify(token, NOW)).name).toBe('Zoë')
  })

  it('refuses a name that is not a valid username, saying which claim', async () => {
    const key = secretKey(SECRET)
    for (const name of ['a<b>', 'x'.repeat(33), 'a\u200bb', '']) {
      expect(await refusal(v, await mint(key, { name }))).toContain('name claim is not a valid')
    }
    expect(await refusal(v, await mint(key, { sub: 'user|1' }))).toContain('sub claim')
    expect(await refusal(v, await mint(key, { name: 42 }))).toContain('not a string')
  })

  it('refuses an unsecured token (alg none)', async () => {
    expect(await refusal(v, unsecured())).toContain('algorithm')
  })

  it('accepts a token expired by less than the tolerance and refuses one beyond it', async () => {
    const key = secretKey(SECRET)
    // jose: expired when exp <= now - tolerance.
    expect((await v.verify(await mint(key, { exp: NOW_S - 29 }), NOW)).id).toBe('user-1')
    expect(await refusal(v, await mint(key, { exp: NOW_S - 30 }))).toBe('the token has expired')
  })

  it('accepts nbf up to the tolerance ahead and refuses it beyond', async () => {
    const key = secretKey(SECRET)
    expect((await v.verify(await mint(key, { nbf: NOW_S + 30 }), NOW)).id).toBe('user-1')
    expect(await refusal(v, await mint(key, { nbf: NOW_S + 31 }))).toBe(
      'the token is not valid yet',
    )
  })

  it('uses the time it is given, not the system clock', async () => {
    const token = await mint(secretKey(SECRET))
    expect(await refusal(v, token, NOW + 700_000)).toBe('the token has expired')
  })

  it('refuses a token without sub or exp, or with a wrong type', async () => {
    const key = secretKey(SECRET)
    expect(await refusal(v, await mint(key, { sub: undefined }))).toContain('no subject')
    expect(await refusal(v, await mint(key, { exp: undefined }))).toContain('no expiry')
    expect(await refusal(v, await mint(key, { sub: '' }))).toContain('subject (sub)')
    expect(await refusal(v, await mint(key, { sub: 7 }))).toContain('subject (sub)')
    expect(await refusal(v, await mint(key, { exp: 'soon' }))).toContain('exp claim')
  })

  it('refuses a token over 8 KB before parsing it, without echoing it', async () => {
    const big = await mint(secretKey(SECRET), { pad: 'x'.repeat(MAX_TOKEN_BYTES) })
    expect(await refusal(v, big)).toBe(`the token is longer than ${MAX_TOKEN_BYTES} bytes`)
    // Not parsed: garbage of that size gets the same answer, not "malformed".
    expect(await refusal(v, 'g'.repeat(MAX_TOKEN_BYTES + 1))).toContain('longer than')
    const nearLimit = await mint(secretKey(SECRET), { pad: 'x'.repeat(6000) })
    expect((await v.verify(nearLimit, NOW)).id).toBe('user-1')
  })

  it('refuses malformed tokens in plain words', async () => {
    for (const token of ['', 'not-a-jwt', 'a.b.c', `${b64url({ alg: 'HS256' })}.e30`]) {
      expect(await refusal(v, token)).toBe('the token is malformed')
    }
  })

  it('never puts the token in the message, whatever the failure', async () => {
    const key = secretKey(SECRET)
    const bad = [
      await mint(key, { exp: NOW_S - 3600 }),
      await mint(secretKey('some-other-secret-0123456789abcdefg')),
      await mint(key, { sub: undefined }),
      await mint(key, { chat: 'everything' }),
      unsecured(),
    ]
    // `refusal` asserts that no part of the token appears in the message.
    for (const token of bad) await refusal(v, token)
  })

  it('accepts a token signed with the previous secret, not an unrelated one', async () => {
    const rotated = verifier({ jwtSecret: SECRET, jwtPreviousSecret: PREVIOUS })
    expect((await rotated.verify(await mint(secretKey(PREVIOUS)), NOW)).id).toBe('user-1')
    expect((await rotated.verify(await mint(secretKey(SECRET)), NOW)).id).toBe('user-1')
    const unrelated = await mint(secretKey('unrelated-secret-0123456789abcdefg'))
    expect(await refusal(rotated, unrelated)).toBe('the token signature is invalid')
    // Only a bad signature falls through to the previous secret: an expired token keeps
    // its own reason instead of the previous secret's "signature is invalid".
    const expired = await mint(secretKey(SECRET), { exp: NOW_S - 3600 })
    expect(await refusal(rotated, expired)).toBe('the token has expired')
    const old = await mint(secretKey(PREVIOUS), { exp: NOW_S - 3600 })
    expect(await refusal(rotated, old)).toBe('the token has expired')
  })
})

describe('TokenVerifier issuer and audience', () => {
  const key = secretKey(SECRET)
  const strict = verifier({ jwtSecret: SECRET, issuer: 'https://app.example', audience: 'chat' })

  it('accepts the configured issuer and audience (one of several audiences)', async () => {
    const token = await mint(key, { iss: 'https://app.example', aud: ['billing', 'chat'] })
    expect((await strict.verify(token, NOW)).id).toBe('user-1')
  })

  it('refuses a wrong or missing issuer and a wrong or missing audience', async () => {
    const wrongIss = await mint(key, { iss: 'https://evil.example', aud: 'chat' })
    expect(await refusal(strict, wrongIss)).toBe('the token has the wrong issuer')
    expect(await refusal(strict, await mint(key, { aud: 'chat' }))).toContain('names no issuer')
    const wrongAud = await mint(key, { iss: 'https://app.example', aud: 'billing' })
    expect(await refusal(strict, wrongAud)).toBe('the token is meant for another audience')
    const noAud = await mint(key, { iss: 'https://app.example' })
    expect(await refusal(strict, noAud)).toContain('names no audience')
  })

  it('checks neither when they are not configured', async () => {
    const lax = verifier({ jwtSecret: SECRET })
    const token = await mint(key, { iss: 'https://anyone.example', aud: 'whatever' })
    expect((await lax.verify(token, NOW)).id).toBe('user-1')
  })
})

describe('checkSecret', () => {
  it('refuses a secret shorter than 32 bytes, counting UTF-8 bytes', () => {
    expect(checkSecret('x'.repeat(31))).toContain('at least 32 bytes')
    expect(checkSecret('x'.repeat(32))).toBeUndefined()
    expect(checkSecret('é'.repeat(16))).toBeUndefined()
    expect(checkSecret(`${'é'.repeat(15)}x`)).toContain('31 bytes')
  })

  it('does not echo the secret', () => {
    expect(checkSecret('short-secret')).not.toContain('short-secret')
  })

  it('is applied when a verifier is built, and so are the other key rules', () => {
    expect(() => verifier({ jwtSecret: 'short' })).toThrow('at least 32 bytes')
    expect(() => verifier({ jwtSecret: SECRET, jwtPreviousSecret: 'short' })).toThrow('32 bytes')
    expect(() => verifier({})).toThrow('exactly one')
    expect(() => verifier({ jwtSecret: SECRET, jwksUrl: 'https://k.example/jwks' })).toThrow(
      'exactly one',
    )
    expect(() => verifier({ jwtPreviousSecret: PREVIOUS, jwksUrl: 'https://k.example' })).toThrow(
      'previous',
    )
    expect(() => verifier({ jwksUrl: 'ftp://k.example/jwks' })).toThrow('http(s)')
  })
})

describe('TokenVerifier with a PEM public key', () => {
  const pairs = {} as Record<'RS256' | 'PS256' | 'ES256' | 'EdDSA', CryptoKeyPair & { pem: string }>
  beforeAll(async () => {
    for (const alg of ['RS256', 'PS256', 'ES256', 'EdDSA'] as const) {
      const pair = await generateKeyPair(alg, { extractable: true })
      pairs[alg] = { ...pair, pem: await exportSPKI(pair.publicKey) }
    }
  })

  it('accepts RS256, PS256, ES256 and EdDSA tokens with the matching key', async () => {
    for (const alg of ['RS256', 'PS256', 'ES256', 'EdDSA'] as const) {
      const v = verifier({ jwtPublicKey: pairs[alg].pem })
      const token = await mint(pairs[alg].privateKey, { name: alg }, { alg })
      expect((await v.verify(token, NOW)).name).toBe(alg)
    }
  })

  it('lets one RSA key verify both RS256 and PS256', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const v = verifier({
      jwtPublicKey: publicKey.export({ type: 'spki', format: 'pem' }) as string,
    })
    for (const alg of ['RS256', 'PS256']) {
      const token = await new SignJWT({ sub: 'user-1', exp: NOW_S + 60 })
        .setProtectedHeader({ alg })
        .sign(privateKey)
      expect((await v.verify(token, NOW)).id).toBe('user-1')
    }
  })

  it('refuses an ES256 token when the key is RSA', async () => {
    const v = verifier({ jwtPublicKey: pairs.RS256.pem })
    const token = await mint(pairs.ES256.privateKey, {}, { alg: 'ES256' })
    expect(await refusal(v, token)).toContain('algorithm this server does not accept')
  })

  it('refuses an HS256 token keyed with the public key bytes (algorithm confusion)', async () => {
    for (const alg of ['RS256', 'ES256', 'EdDSA'] as const) {
      const v = verifier({ jwtPublicKey: pairs[alg].pem })
      const forged = await mint(secretKey(pairs[alg].pem), {}, { alg: 'HS256' })
      expect(await refusal(v, forged)).toContain('algorithm this server does not accept')
    }
  })

  it('refuses an unsecured token and one signed by another key', async () => {
    const v = verifier({ jwtPublicKey: pairs.ES256.pem })
    expect(await refusal(v, unsecured())).toContain('algorithm')
    const other = await generateKeyPair('ES256')
    const token = await mint(other.privateKey, {}, { alg: 'ES256' })
    expect(await refusal(v, token)).toBe('the token signature is invalid')
  })

  it('refuses to be built from a key it cannot pin, or from no key at all', () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey
    const pem = p384.export({ type: 'spki', format: 'pem' }) as string
    expect(() => verifier({ jwtPublicKey: pem })).toThrow('RSA, EC P-256 or Ed25519')
    expect(() => verifier({ jwtPublicKey: 'not a pem' })).toThrow('not a PEM public key')
  })
})

describe('TokenVerifier with a JWKS URL', () => {
  let server: JwksServer
  let keyA: CryptoKeyPair
  let jwkA: JWK
  beforeAll(async () => {
    keyA = await generateKeyPair('ES256', { extractable: true })
    jwkA = { ...(await exportJWK(keyA.publicKey)), kid: 'key-a', alg: 'ES256', use: 'sig' }
  })
  beforeEach(() => {
    server = new JwksServer([jwkA])
  })
  afterEach(async () => {
    await server.stop()
  })

  const signA = (kid = 'key-a') => mint(keyA.privateKey, {}, { alg: 'ES256', kid })

  it('accepts a token whose kid is in the key set, fetching the set once', async () => {
    const v = verifier({ jwksUrl: server.url })
    expect((await v.verify(await signA(), NOW)).id).toBe('user-1')
    expect((await v.verify(await signA(), NOW)).id).toBe('user-1')
    expect(server.requests).toBe(1)
  })

  it('follows a key rotation with one refetch for the new kid', async () => {
    const v = verifier({ jwksUrl: server.url }, { cooldownMs: 0 })
    await v.verify(await signA(), NOW)
    const keyB = await generateKeyPair('EdDSA', { extractable: true })
    server.keys = [{ ...(await exportJWK(keyB.publicKey)), kid: 'key-b', alg: 'EdDSA' }]
    const tokenB = await mint(keyB.privateKey, {}, { alg: 'EdDSA', kid: 'key-b' })
    expect((await v.verify(tokenB, NOW)).id).toBe('user-1')
    expect(server.requests).toBe(2)
    await v.verify(tokenB, NOW)
    expect(server.requests).toBe(2)
  })

  it('fetches at most once per cooldown, however many unknown kids arrive', async () => {
    const v = verifier({ jwksUrl: server.url })
    // Concurrent first tokens share one fetch; later ones fall in the cooldown.
    const first = Array.from({ length: 20 }, async () =>
      refusal(v, await signA(crypto.randomUUID())),
    )
    for (const message of await Promise.all(first)) expect(message).toContain('no known key')
    for (let i = 0; i < 30; i++) await refusal(v, await signA(crypto.randomUUID()))
    expect(server.requests).toBe(1)
    expect((await v.verify(await signA(), NOW)).id).toBe('user-1')
  })

  it('refuses HMAC and unsecured tokens without fetching any key', async () => {
    const v = verifier({ jwksUrl: server.url })
    const hmac = await mint(secretKey(JSON.stringify(jwkA)), {}, { alg: 'HS256', kid: 'key-a' })
    expect(await refusal(v, hmac)).toContain('algorithm this server does not accept')
    expect(await refusal(v, unsecured())).toContain('algorithm')
    expect(server.requests).toBe(0)
  })

  it('refuses in plain words when the key server is down', async () => {
    const v = verifier({ jwksUrl: server.url })
    await server.stop()
    expect(await refusal(v, await signA())).toBe(
      'the token could not be checked: the key server is unreachable',
    )
  })

  it('backs off after a failed fetch instead of fetching for every token', async () => {
    const clock = new FakeClock()
    const v = verifier({ jwksUrl: server.url }, { clock, failureBackoffMs: 5000 })
    server.mode = 'error'
    expect(await refusal(v, await signA())).toContain('the key server answered HTTP 500')
    clock.advance(4999)
    expect(await refusal(v, await signA())).toContain('failed a moment ago')
    expect(server.requests).toBe(1)
    server.mode = 'ok'
    clock.advance(1)
    expect((await v.verify(await signA(), NOW)).id).toBe('user-1')
    expect(server.requests).toBe(2)
  })

  it('refuses when the key server sends no key set or does not answer in time', async () => {
    server.mode = 'garbage'
    expect(await refusal(verifier({ jwksUrl: server.url }), await signA())).toContain(
      'no valid key set',
    )
    server.mode = 'hang'
    const v = verifier({ jwksUrl: server.url }, { timeoutMs: 50 })
    expect(await refusal(v, await signA())).toContain('did not answer in time')
  })
})

describe('grantsRoom and moderatesRoom', () => {
  const grants = (rooms: string[], moderates: string[] = []) => ({ rooms, moderates })

  it('match exact room ids only', () => {
    expect(grantsRoom(grants(['launch']), 'launch')).toBe(true)
    expect(grantsRoom(grants(['launch']), 'launch-2')).toBe(false)
    expect(grantsRoom(grants([]), 'launch')).toBe(false)
    expect(moderatesRoom(grants([], ['launch']), 'launch')).toBe(true)
    expect(moderatesRoom(grants(['launch']), 'launch')).toBe(false)
  })

  it('match a prefix ending in *', () => {
    const g = grants(['team-*'], ['team-*'])
    for (const room of ['team-a', 'team-core']) {
      expect(grantsRoom(g, room)).toBe(true)
      expect(moderatesRoom(g, room)).toBe(true)
    }
    for (const room of ['teams', 'a-team-b', 'team']) expect(grantsRoom(g, room)).toBe(false)
  })

  it('treat a lone * as every room', () => {
    expect(grantsRoom(grants(['*']), 'anything')).toBe(true)
    expect(moderatesRoom(grants([], ['*']), 'anything')).toBe(true)
  })
})

describe('TokenVerifier chat claim', () => {
  const v = verifier({ jwtSecret: SECRET })
  const key = secretKey(SECRET)

  it('reads rooms and moderates into the identity', async () => {
    const chat = { rooms: ['team-*', 'launch'], moderates: ['launch'], future: true }
    const identity = await v.verify(await mint(key, { chat }), NOW)
    expect(identity.rooms).toEqual(['team-*', 'launch'])
    expect(identity.moderates).toEqual(['launch'])
    expect(grantsRoom(identity, 'team-x')).toBe(true)
    expect(moderatesRoom(identity, 'team-x')).toBe(false)
  })

  it('refuses a malformed chat claim', async () => {
    const malformed: unknown[] = [
      'everything',
      null,
      ['launch'],
      { rooms: 'launch' },
      { rooms: [1] },
      { rooms: [''] },
      { moderates: ['a*b'] },
      { rooms: ['x'.repeat(129)] },
      { rooms: Array.from({ length: 101 }, (_, i) => `room-${i}`) },
    ]
    for (const chat of malformed) {
      expect(await refusal(v, await mint(key, { chat }))).toContain('chat')
    }
  })
})

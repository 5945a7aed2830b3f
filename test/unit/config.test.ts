import { describe, expect, it } from 'bun:test'
import { join } from 'node:path'
import { withSettingsTable } from '../../scripts/settings-table.ts'
import {
  defaultConfig,
  flagOf,
  helpText,
  loadConfig,
  parseCommandLine,
  SETTINGS,
} from '../../src/config.ts'

describe('loadConfig', () => {
  it('gives the documented defaults for an empty environment', () => {
    const config = loadConfig({})
    // The node id is the host name plus a random suffix, so it differs from run to run.
    expect(config).toEqual(defaultConfig({ nodeId: config.nodeId }))
    expect(config.nodeId).toMatch(/^[A-Za-z0-9._-]+-[0-9a-f]{6}$/)
    expect(config.redisUrl).toBeUndefined()
    expect(config.port).toBe(3000)
    expect(config.defaultRooms).toEqual(['general'])
    expect(config.rateLimitPerSec).toBe(10)
    expect(config.resumeGraceMs).toBe(30_000)
    expect(Object.isFrozen(config)).toBe(true)
  })

  it('reads the cluster settings and refuses a REDIS_URL that is not redis:// or rediss://', () => {
    const config = loadConfig({
      REDIS_URL: 'redis://:pw@127.0.0.1:6380/2',
      REDIS_KEY_PREFIX: 'x:',
      NODE_ID: 'n-1',
      NODE_TTL_MS: '5000',
    })
    expect(config.redisUrl).toBe('redis://:pw@127.0.0.1:6380/2')
    expect(config.redisKeyPrefix).toBe('x:')
    expect(config.nodeId).toBe('n-1')
    expect(config.nodeTtlMs).toBe(5000)
    expect(() => loadConfig({ REDIS_URL: 'http://127.0.0.1:6379' })).toThrow(/REDIS_URL/)
    expect(() => loadConfig({ REDIS_URL: 'not a url' })).toThrow(/REDIS_URL/)
    expect(() => loadConfig({ NODE_ID: 'bad id!' })).toThrow(/NODE_ID/)
    expect(() => loadConfig({ NODE_TTL_MS: '10' })).toThrow(/NODE_TTL_MS/)
  })

  it('reads the sign-in settings and refuses weak or contradictory ones without echoing secrets', () => {
    const secret = 's'.repeat(32)
    const config = loadConfig({
      AUTH_MODE: 'required',
      AUTH_JWT_SECRET: secret,
      AUTH_ISSUER: 'https://app.example',
      AUTH_CLOCK_TOLERANCE_S: '5',
      AUTH_TIMEOUT_MS: '2000',
    })
    expect(config).toMatchObject({
      authMode: 'required',
      authJwtSecret: secret,
      authIssuer: 'https://app.example',
      authAudience: undefined,
      authClockToleranceS: 5,
      authTimeoutMs: 2000,
    })
    expect(loadConfig({}).authMode).toBe('off')
    expect(() => loadConfig({ AUTH_MODE: 'optional' })).toThrow(/needs a key/)
    expect(() => loadConfig({ AUTH_MODE: 'sometimes' })).toThrow(/AUTH_MODE/)
    const short = 'too-short-secret'
    expect(() => loadConfig({ AUTH_JWT_SECRET: short })).toThrow(/at least 32 bytes/)
    try {
      loadConfig({ AUTH_JWT_SECRET: short })
    } catch (e) {
      expect((e as Error).message).not.toContain(short)
    }
    expect(() => loadConfig({ AUTH_JWT_SECRET: secret, AUTH_JWKS_URL: 'https://k' })).toThrow(
      /only one/,
    )
    expect(() => loadConfig({ AUTH_JWT_PREVIOUS_SECRET: secret })).toThrow(/needs AUTH_JWT_SECRET/)
    expect(() => loadConfig({ AUTH_JWKS_URL: 'file:///etc/keys' })).toThrow(/AUTH_JWKS_URL/)
    expect(() => loadConfig({ AUTH_JWT_PUBLIC_KEY: 'not a pem' })).toThrow(/PEM/)
  })

  it('reads numbers, lists and booleans', () => {
    const config = loadConfig({
      PORT: '0',
      DEFAULT_ROOMS: 'general, Help Desk ,,random',
      RATE_LIMIT_PER_SEC: '20',
      ALLOWED_ORIGINS: 'https://chat.example.com',
      TRUST_PROXY: 'yes',
    })
    expect(config.port).toBe(0)
    expect(config.defaultRooms).toEqual(['general', 'Help Desk', 'random'])
    expect(config.rateLimitPerSec).toBe(20)
    // The burst follows the rate unless set.
    expect(config.rateLimitBurst).toBe(20)
    expect(config.allowedOrigins).toEqual(['https://chat.example.com'])
    expect(config.trustProxy).toBe(true)
  })

  const bad: [string, Record<string, string>, string][] = [
    ['a port that is not a number', { PORT: 'abc' }, 'PORT'],
    ['a port out of range', { PORT: '70000' }, 'PORT'],
    ['a negative limit', { RATE_LIMIT_PER_SEC: '-1' }, 'RATE_LIMIT_PER_SEC'],
    ['a fraction', { MAX_ROOMS: '1.5' }, 'MAX_ROOMS'],
    ['an unknown log level', { LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    ['a boolean that is not one', { TRUST_PROXY: 'maybe' }, 'TRUST_PROXY'],
    ['a shutdown timeout under a second', { SHUTDOWN_TIMEOUT_MS: '500' }, 'SHUTDOWN_TIMEOUT_MS'],
  ]
  for (const [what, env, name] of bad) {
    it(`fails fast, naming the variable, on ${what}`, () => {
      expect(() => loadConfig(env)).toThrow(name)
    })
  }
})

describe('command-line flags', () => {
  it('gives every setting a flag that is the kebab-case of its variable', () => {
    for (const s of SETTINGS) expect(flagOf(s.env)).toBe(s.env.toLowerCase().replaceAll('_', '-'))
    expect(flagOf('RATE_LIMIT_PER_SEC')).toBe('rate-limit-per-sec')
    // Every Config field is a setting, once.
    expect(SETTINGS.map((s) => String(s.key)).sort()).toEqual(Object.keys(defaultConfig()).sort())
  })

  it('reads flags in both forms, and a flag wins over its variable', () => {
    const config = loadConfig({ PORT: '4000', HOST: '0.0.0.0', RATE_LIMIT_PER_SEC: '5' }, [
      '--port=5000',
      '--rate-limit-per-sec',
      '7',
      '--redis-url=redis://127.0.0.1:6379',
      '--trust-proxy=true',
      '--allowed-origins=https://a.example,https://b.example',
    ])
    expect(config.port).toBe(5000)
    expect(config.host).toBe('0.0.0.0')
    expect(config.rateLimitPerSec).toBe(7)
    expect(config.rateLimitBurst).toBe(7)
    expect(config.redisUrl).toBe('redis://127.0.0.1:6379')
    expect(config.trustProxy).toBe(true)
    expect(config.allowedOrigins).toEqual(['https://a.example', 'https://b.example'])
  })

  it('names the flag when a flag holds a bad value, and refuses unknown flags in one line', () => {
    expect(() => loadConfig({}, ['--port=abc'])).toThrow(
      '--port must be a whole number from 0 to 65535, got "abc"',
    )
    expect(() => loadConfig({}, ['--max-body-bytes=1'])).toThrow('--max-body-bytes')
    expect(() => loadConfig({}, ['--no-such-thing=1'])).toThrow(
      'unknown option --no-such-thing (see --help)',
    )
    expect(() => loadConfig({}, ['--port'])).toThrow('option --port needs a value')
    expect(() => loadConfig({}, ['serve'])).toThrow('unexpected argument serve')
  })

  it('tells the side modes apart', () => {
    expect(parseCommandLine({}, []).mode).toBe('serve')
    expect(parseCommandLine({}, ['--help']).mode).toBe('help')
    expect(parseCommandLine({}, ['-v']).mode).toBe('version')
    expect(parseCommandLine({ PORT: '8080' }, ['--health-check']).mode).toBe('health-check')
  })

  it('lists every setting with its variable, default and meaning in --help', () => {
    const help = helpText('1.2.3')
    expect(help).toContain('chat-server 1.2.3')
    for (const s of SETTINGS) {
      expect(help).toContain(`--${flagOf(s.env)}=VALUE`)
      expect(help).toContain(`${s.env}, default ${s.default}`)
      expect(help).toContain(s.meaning.replaceAll('`', ''))
    }
  })

  it('has the README settings table generated from the same list (run bun run docs:settings)', async () => {
    const readme = await Bun.file(join(import.meta.dir, '../../README.md')).text()
    expect(readme).toBe(withSettingsTable(readme))
    expect(readme).toContain('| `RATE_LIMIT_PER_SEC` | `--rate-limit-per-sec` | `10` |')
  })
})

import { describe, expect, it } from 'bun:test'
import { defaultConfig, loadConfig } from '../../src/config.ts'

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

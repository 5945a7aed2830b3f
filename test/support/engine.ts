/**
 * Which engine the behavioural suites run against: `TEST_ENGINE=memory` (the default, one
 * process) or `TEST_ENGINE=redis` (the Redis engine, on a real `redis-server` that this
 * module starts on a free loopback port when it is first imported, and test/support/setup.ts
 * stops by PID after the last test file). `bun run check` runs test/integration and test/client
 * once for each engine.
 */
import { RedisServer } from './cluster.ts'

export type TestEngine = 'memory' | 'redis'

export const testEngine: TestEngine = Bun.env.TEST_ENGINE === 'redis' ? 'redis' : 'memory'

/** The Redis of this test process: started before any test of the file runs (redis engine only). */
export const redis = testEngine === 'redis' ? new RedisServer() : undefined
if (redis) {
  await redis.start()
  // In case the run ends another way (setup.ts's afterAll is the usual stop).
  process.on('exit', () => redis.kill())
}
let servers = 0

/**
 * Settings that put a server on the engine under test: for Redis, the shared Redis, and a
 * key prefix and node id of its own, so that servers started one after another share nothing.
 */
export function engineSettings(): { redisUrl?: string; redisKeyPrefix?: string; nodeId?: string } {
  if (!redis) return {}
  servers += 1
  return {
    redisUrl: redis.url,
    redisKeyPrefix: `t${process.pid}-${servers}:`,
    nodeId: `test-${servers}`,
  }
}

/**
 * The wrong-password bucket of a private room is cluster-wide (issue 9, line 5): attempts on
 * two nodes take from one bucket in Redis (the same limit as one node's, issue 14). Tested in-process on the room layer of two
 * "nodes" (two connections to one real Redis), with a fast hasher, so that the window's 100
 * attempts take milliseconds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { ClusterRooms } from '../../src/cluster/cluster-rooms.ts'
import { Keys } from '../../src/cluster/keys.ts'
import { RedisLink } from '../../src/cluster/redis-link.ts'
import { defaultConfig } from '../../src/config.ts'
import { systemClock } from '../../src/domain/clock.ts'
import { Guard } from '../../src/domain/guard.ts'
import { RedisServer } from '../support/cluster.ts'
import { RecordingLogger } from '../support/logger.ts'
import { fastHasher } from '../support/server.ts'

const redis = new RedisServer()
const links: RedisLink[] = []
const loggers: RecordingLogger[] = []
const noMetrics = { redisUp() {}, redisCommandFailed() {}, redisMessageReceived() {} }

async function node(name: string): Promise<ClusterRooms> {
  const config = defaultConfig({ redisUrl: redis.url, nodeId: name, roomCreatePerMin: 1000 })
  const logger = new RecordingLogger()
  loggers.push(logger)
  const link = new RedisLink(
    redis.url,
    `t:node:${name}`,
    60_000,
    systemClock,
    logger,
    {
      up() {},
      down() {},
      message() {},
    },
    noMetrics,
  )
  links.push(link)
  link.start()
  while (!link.isUp) await Bun.sleep(10)
  const guard = new Guard(systemClock, config)
  // The rules' clock stands still, so the bucket refills nothing while the test runs.
  const now = Date.now()
  return new ClusterRooms(config, new Keys('t:'), link, fastHasher, guard, logger, () => now)
}

beforeAll(async () => {
  await redis.start()
})

afterAll(async () => {
  for (const link of links) await link.close()
  await redis.stop()
})

describe('cluster: the wrong-password bucket of a room', () => {
  it('counts attempts from every node in one bucket, and refuses the 101st', async () => {
    const a = await node('a')
    const b = await node('b')
    const room = {
      id: 'vault',
      name: 'Vault',
      isPrivate: true,
      maxUsers: 50,
      signedIn: false,
      passwordHash: await fastHasher.hash('right'),
      token: 'a-moderator-token',
      createdAt: Date.now(),
    }
    expect(await a.register(room, 100)).toBe('ok')
    const meta = await b.meta('vault')
    let wrong = 0
    for (let i = 0; i < 100; i++) {
      // A fresh local bucket each time: only the room's shared window can refuse.
      const ok = await (i % 2 ? a : b).verifyPassword(meta, 'wrong', [], '10.0.0.2')
      if (!ok) wrong += 1
    }
    expect(wrong).toBe(100)
    const refused = await b.verifyPassword(meta, 'right', [], '10.0.0.3').catch((e) => e)
    expect(refused).toMatchObject({ code: 'rate_limited' })
    // An operator sees the throttle, with the address.
    expect(loggers[1]?.entries).toContainEqual({
      level: 'warn',
      message: 'password attempts throttled',
      fields: { address: '10.0.0.3', room: 'vault' },
    })
  })
})

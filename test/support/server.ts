import { type AppDeps, createApp } from '../../src/app.ts'
import { ClusterStore } from '../../src/cluster/cluster-store.ts'
import { type Config, defaultConfig } from '../../src/config.ts'
import type { PasswordHasher } from '../../src/domain/ports.ts'
import { engineSettings } from './engine.ts'
import { RecordingLogger } from './logger.ts'

/** Config for tests: defaults, quiet logs, changed by `overrides`. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  return defaultConfig({
    port: 0,
    host: '127.0.0.1',
    logLevel: 'error',
    ...engineSettings(),
    ...overrides,
  })
}

/**
 * argon2id with small parameters: the same code path as production (Bun.password,
 * async) at a fraction of the cost, so tests with private rooms stay fast.
 */
export const fastHasher: PasswordHasher = {
  hash: (password) =>
    Bun.password.hash(password, { algorithm: 'argon2id', memoryCost: 256, timeCost: 1 }),
  verify: (password, hash) => Bun.password.verify(password, hash),
}

export interface TestServer {
  config: Config
  app: ReturnType<typeof createApp>['app']
  store: ReturnType<typeof createApp>['store']
  logger: RecordingLogger
  port: number
  /** Resolves when the store takes frames (at once in memory; once registered in Redis). */
  ready: Promise<void>
  wsUrl: string
  httpUrl: string
  stop(): Promise<void>
}

/** Starts the real app in-process on a free loopback port. */
export function startServer(overrides: Partial<Config> = {}, deps: AppDeps = {}): TestServer {
  const logger = new RecordingLogger()
  const config = testConfig(overrides)
  const { app, store } = createApp(config, { hasher: fastHasher, logger, ClusterStore, ...deps })
  app.listen({ port: 0, hostname: '127.0.0.1' })
  const port = app.server?.port
  if (!port) throw new Error('server did not start')
  return {
    config,
    app,
    store,
    logger,
    port,
    ready:
      'ready' in store && typeof store.ready === 'function' ? store.ready() : Promise.resolve(),
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    httpUrl: `http://127.0.0.1:${port}`,
    stop: async () => {
      await app.stop(true)
    },
  }
}

/**
 * Preloaded by `bun test` (bunfig.toml): hooks for the whole run, across every test file.
 * The Redis engine's shared redis-server (test/support/engine.ts) is stopped by PID once
 * every file has run; an exit hook alone does not fire under `bun test`, and left one
 * redis-server behind per run.
 */
import { afterAll } from 'bun:test'
import { redis } from './engine.ts'

afterAll(async () => {
  await redis?.stop()
})

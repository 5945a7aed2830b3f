import { describe, expect, it } from 'bun:test'
import { resolve } from 'node:path'
import { runProcess } from '../support/run-process.ts'

const ROOT = resolve(import.meta.dir, '../..')

/**
 * The files a fresh process holds once it has built the app (or, with `redisUrl`, loaded
 * the cluster's store): a process of its own, since this one has loaded everything.
 */
async function loadedFiles(redisUrl: string | undefined): Promise<string[]> {
  const script = `
    const { createApp, loadClusterStore } = await import(${JSON.stringify(`${ROOT}/src/app.ts`)})
    const { defaultConfig } = await import(${JSON.stringify(`${ROOT}/src/config.ts`)})
    const config = defaultConfig({ port: 0, logLevel: 'error', redisUrl: ${JSON.stringify(redisUrl)} })
    const ClusterStore = await loadClusterStore(config)
    // With REDIS_URL the store would connect: loading it is what is looked at.
    if (!ClusterStore) createApp(config).metrics.close()
    process.stdout.write(JSON.stringify(Object.keys(require.cache)))
  `
  const { stdout: out, stderr: err, code } = await runProcess(['bun', '-e', script], { cwd: ROOT })
  expect(err).toBe('')
  expect(code).toBe(0)
  return JSON.parse(out) as string[]
}

const clusterFiles = (files: string[]) =>
  files.filter((f) => f.includes('/node_modules/ioredis/') || f.includes('/src/cluster/'))

describe('createApp', () => {
  it('loads neither ioredis nor the cluster modules without REDIS_URL', async () => {
    const files = await loadedFiles(undefined)
    expect(files.some((f) => f.endsWith('/src/domain/room-store.ts'))).toBe(true)
    expect(clusterFiles(files)).toEqual([])
  })

  it('loads them with REDIS_URL, through loadClusterStore', async () => {
    const files = await loadedFiles('redis://127.0.0.1:6379')
    expect(files.some((f) => f.endsWith('/src/cluster/cluster-store.ts'))).toBe(true)
    expect(files.some((f) => f.includes('/node_modules/ioredis/'))).toBe(true)
  })
})

import { afterEach, describe, expect, it } from 'bun:test'
import { resolve } from 'node:path'
import type { Subprocess } from 'bun'
import { RawWsClient } from '../support/raw-ws.ts'
import { type Frame, TestClient } from '../support/ws-client.ts'

const ROOT = resolve(import.meta.dir, '../..')
const SHUTDOWN_TIMEOUT_MS = 3000

const children: Subprocess<'ignore', 'pipe', 'pipe'>[] = []
const clients: TestClient[] = []

afterEach(() => {
  for (const c of clients.splice(0)) c.close()
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL')
})

/** Starts `cmd` in the repo root on a free loopback port; resolves once it logs "listening". */
async function spawnServer(
  cmd: string[],
): Promise<{ child: (typeof children)[number]; port: number }> {
  const child = Bun.spawn(cmd, {
    cwd: ROOT,
    env: {
      ...Bun.env,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  })
  children.push(child)
  const reader = child.stdout.getReader()
  const decoder = new TextDecoder()
  let text = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) throw new Error(`server exited before listening: ${text}`)
    text += decoder.decode(value, { stream: true })
    for (const line of text.split('\n')) {
      if (!line.startsWith('{')) continue
      const entry = JSON.parse(line)
      if (entry.message === 'listening') {
        reader.releaseLock()
        // Keep draining stdout so the child never blocks on a full pipe.
        void child.stdout.pipeTo(new WritableStream())
        return { child, port: entry.port }
      }
    }
  }
}

describe('graceful shutdown of the real server', () => {
  it(
    'on SIGTERM tells each client when to come back, closes it with 1001, answers /health 503 and exits 0 in time',
    async () => {
      const { child, port } = await spawnServer(['bun', 'src/main.ts'])
      const users = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank']
      for (const name of users) {
        const c = await TestClient.connect(`ws://127.0.0.1:${port}/ws`)
        clients.push(c)
        await c.join('general', name)
      }
      const notices = clients.map((c) => c.next('shutdown'))
      const closes = clients.map((c) => c.closed)

      const signalled = Date.now()
      child.kill('SIGTERM')
      // The signal arrives asynchronously; the first notice proves the drain has begun.
      await notices[0]
      const health = await fetch(`http://127.0.0.1:${port}/health`)
      expect(health.status).toBe(503)
      expect(await health.json()).toMatchObject({ status: 'draining' })

      const delays = (await Promise.all(notices)).map((f: Frame) => f.reconnect_in_ms)
      for (const d of delays) {
        expect(Number.isInteger(d)).toBe(true)
        expect(d).toBeGreaterThanOrEqual(1000)
      }
      expect(new Set(delays).size).toBeGreaterThan(1)
      for (const { code } of await Promise.all(closes)) expect(code).toBe(1001)
      for (const c of clients) expect(c.frames.at(-1)?.type).toBe('shutdown')

      expect(await child.exited).toBe(0)
      expect(Date.now() - signalled).toBeLessThan(SHUTDOWN_TIMEOUT_MS)
      expect(await new Response(child.stderr).text()).toBe('')
    },
    SHUTDOWN_TIMEOUT_MS + 3000,
  )

  it('refuses new WebSocket connections and new rooms while draining', async () => {
    const { child, port } = await spawnServer(['bun', 'src/main.ts'])
    const alice = await TestClient.connect(`ws://127.0.0.1:${port}/ws`)
    clients.push(alice)
    await alice.join('general', 'alice') // keeps the drain open until it is closed
    const closed = alice.closed
    child.kill('SIGTERM')
    await alice.next('shutdown')
    const refused = await RawWsClient.connect(port, { read: true }).catch((e: Error) => e)
    expect(String(refused)).toContain('upgrade refused: HTTP/1.1 503')
    const create = await fetch(`http://127.0.0.1:${port}/rooms`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Too late' }),
    })
    expect(create.status).toBe(503)
    expect(((await create.json()) as Frame).error.code).toBe('shutting_down')
    expect((await closed).code).toBe(1001)
    expect(await child.exited).toBe(0)
  })

  it('`bun run start` passes SIGTERM on to the server, which exits 0', async () => {
    const { child, port } = await spawnServer(['bun', 'run', 'start'])
    const alice = await TestClient.connect(`ws://127.0.0.1:${port}/ws`)
    clients.push(alice)
    const closed = alice.closed
    child.kill('SIGTERM')
    expect((await closed).code).toBe(1001)
    expect(await child.exited).toBe(0)
  })
})

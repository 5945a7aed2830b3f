import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type ChildServer, startChild } from '../support/child.ts'
import { metric, parseMetrics } from '../support/metrics.ts'
import { runProcess } from '../support/run-process.ts'
import { TestClient } from '../support/ws-client.ts'

const root = join(import.meta.dir, '../..')
const executable = join(root, 'dist/chat-server')
const addressFile = join(tmpdir(), `chat-server-${process.pid}.address`)

// One build for the file: `bun run build`, exactly as CI and the Dockerfile run it.
beforeAll(async () => {
  const { stdout: out, stderr, code } = await runProcess(['bun', 'run', 'build'], { cwd: root })
  if (code !== 0) throw new Error(`bun run build failed: ${stderr}`)
  // The build prints the executable's size.
  expect(out).toMatch(/dist\/chat-server: \d+\.\d MiB \(\d+ bytes\)/)
}, 60_000)

let server: ChildServer | undefined
afterAll(async () => {
  if (server && server.proc.exitCode === null) server.proc.kill('SIGKILL')
})

function run(args: string[], env: Record<string, string> = {}) {
  return runProcess([executable, ...args], { env: { ...Bun.env, ...env } })
}

describe('the compiled executable', () => {
  it('serves two clients chatting, /, /swagger/json and /metrics, answers its health check, and stops on SIGTERM', async () => {
    // The port as a flag, as in `docker run chat --port 4001`: the health check's own
    // command line does not have it, so it reads the URL the server wrote to ADDRESS_FILE.
    server = await startChild([executable, '--port=0'], {
      LOG_LEVEL: 'info',
      NODE_ID: 'shipped-1',
      PORT: '1',
      ADDRESS_FILE: addressFile,
    })
    const s = server
    expect(s.lines.some((l) => l.includes('"node":"shipped-1"'))).toBe(true)

    const alice = await TestClient.connect(s.wsUrl)
    const bob = await TestClient.connect(s.wsUrl)
    await alice.join('general', 'alice')
    const bobJoined = alice.next('user_joined', (f) => f.username === 'bob')
    await bob.join('general', 'bob')
    await bobJoined
    const message = bob.next('message', (f) => f.content === 'hello from the binary')
    alice.send({ action: 'message', room: 'general', content: 'hello from the binary' })
    expect(await message).toMatchObject({ sender: 'alice', room: 'general' })
    const typing = alice.next('typing', (f) => f.username === 'bob')
    bob.send({ action: 'typing', room: 'general' })
    expect((await typing).active).toBe(true)
    const left = alice.next('user_left', (f) => f.username === 'bob')
    expect(await bob.request({ action: 'leave', room: 'general' }, ['left'])).toMatchObject({
      type: 'left',
    })
    await left
    await bob.join('general', 'bob')

    // `/`: the chat page, bundled into the executable.
    const page = await fetch(`${s.httpUrl}/`)
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toContain('text/html')
    expect(await page.text()).toContain('<script')
    const openapi = await fetch(`${s.httpUrl}/swagger/json`)
    expect(openapi.status).toBe(200)
    expect(((await openapi.json()) as { paths: Record<string, unknown> }).paths).toHaveProperty(
      '/metrics',
    )
    const scraped = parseMetrics(await (await fetch(`${s.httpUrl}/metrics`)).text())
    expect(metric(scraped, 'chat_connections')).toBe(2)
    expect(metric(scraped, 'chat_messages_accepted_total')).toBe(1)
    expect(metric(scraped, 'chat_frames_received_total', { action: 'leave' })).toBe(1)

    // Over a socket: a 20 KB query passes Bun's parser (raised to 64 KiB in the executable)
    // and gets the JSON 431; past 64 KiB Bun itself answers, a bare 431 with no body.
    const long = await fetch(`${s.httpUrl}/rooms?q=${'a'.repeat(20_000)}`)
    expect(long.status).toBe(431)
    expect(((await long.json()) as { error: { code: string } }).error.code).toBe(
      'payload_too_large',
    )
    const huge = await fetch(`${s.httpUrl}/rooms?q=${'a'.repeat(70_000)}`)
    expect({ status: huge.status, body: await huge.text() }).toEqual({ status: 431, body: '' })

    const health = await run(['--health-check'], { PORT: String(s.port), HOST: '127.0.0.1' })
    expect(health.code).toBe(0)
    expect(await Bun.file(addressFile).text()).toBe(`${s.httpUrl}\n`)
    const followed = await run(['--health-check'], { PORT: '1', ADDRESS_FILE: addressFile })
    expect(followed).toEqual({ stdout: '', stderr: '', code: 0 })

    const shutdownA = alice.next('shutdown')
    const shutdownB = bob.next('shutdown')
    const code = await s.stop()
    expect(code).toBe(0)
    expect((await shutdownA).reconnect_in_ms).toBeGreaterThanOrEqual(1000)
    await shutdownB
    expect((await alice.closed).code).toBe(1001)
    expect((await bob.closed).code).toBe(1001)

    // LOG_FORMAT=json: every stdout line is a JSON log line, the WebSocket connections above
    // included (a `--minify-whitespace` build printed Elysia's Sucrose warning and a
    // handler's source there as plain text).
    const plain = s.lines.filter((line) => {
      try {
        return typeof JSON.parse(line) !== 'object'
      } catch {
        return true
      }
    })
    expect(plain).toEqual([])

    // Nothing listens now: the health check says so.
    const down = await run(['--health-check'], { PORT: String(s.port), HOST: '127.0.0.1' })
    expect(down.code).toBe(1)
    // The server removed its address file on the way out.
    expect(await Bun.file(addressFile).exists()).toBe(false)
    const gone = await run(['--health-check'], { ADDRESS_FILE: addressFile })
    expect(gone.code).toBe(1)
    expect(gone.stderr).toContain('the server is not listening')
  }, 20_000)

  it('prints --version and --help, and refuses a bad setting in one line with exit code 2', async () => {
    const version = await run(['--version'])
    expect(version.code).toBe(0)
    expect(version.stdout).toMatch(/^chat-server \d+\.\d+\.\d+\n$/)
    const help = await run(['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('--rate-limit-per-sec=VALUE')
    const bad = await run(['--rate-limit-per-sec=lots'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toBe(
      'chat-server: invalid configuration: --rate-limit-per-sec must be a whole number from 1 to 10000, got "lots"\n',
    )
    const badEnv = await run([], { MAX_BODY_BYTES: '12' })
    expect(badEnv.code).toBe(2)
    expect(badEnv.stderr.trim().split('\n')).toEqual([
      'chat-server: invalid configuration: MAX_BODY_BYTES must be a whole number from 1024 to 134217728, got "12"',
    ])
  }, 10_000)
})

/**
 * The protocol conformance suite (conformance/, `bun run conformance`) run as a subprocess
 * against this server, started as `bun run start` starts it: in memory, and as a two-node
 * cluster on one Redis. It fails on any failed check, and on a skipped check other than the
 * ones this setup cannot run, so that a check which stops running is noticed.
 */
import { afterAll, describe, expect, it } from 'bun:test'
import { join } from 'node:path'
import packageJson from '../../package.json'
import { type ChildServer, startChild } from '../support/child.ts'
import { RedisServer } from '../support/cluster.ts'
import { runProcess } from '../support/run-process.ts'

const root = join(import.meta.dir, '../..')
const SECRET = 'conformance-secret-of-at-least-32-bytes'
// The settings the suite is told, so that it checks those limits too (the defaults here).
// Waits of up to 10 s: a loaded CI runner is slow, and the suite bounds every wait anyway.
const SUITE_OPTIONS = [
  '--wait-ms',
  '10000',
  '--max-payload-bytes',
  '16384',
  '--max-content-chars',
  '4000',
  '--rate-limit-burst',
  '10',
]

const servers: ChildServer[] = []
const redis = new RedisServer()

afterAll(async () => {
  for (const s of servers.splice(0)) if (s.proc.exitCode === null) s.proc.kill('SIGKILL')
  await redis.stop()
})

/** The server as `bun run start` runs it (Bun's header limit raised), with `env`. */
async function start(env: Record<string, string>): Promise<ChildServer> {
  const [, ...args] = packageJson.scripts.start.split(' ')
  const server = await startChild(
    [process.execPath, ...args.map((a) => (a.endsWith('.ts') ? join(root, a) : a))],
    { LOG_LEVEL: 'info', SHUTDOWN_RECONNECT_SPREAD_MS: '0', ...env },
  )
  servers.push(server)
  // A cluster node serves once it has registered in Redis: /health says so (bounded).
  for (let i = 0; i < 100; i++) {
    const res = await fetch(`${server.httpUrl}/health`).catch(() => undefined)
    if (res?.status === 200) return server
    await Bun.sleep(50)
  }
  throw new Error(`${server.httpUrl} never became healthy: ${server.lines.join('\n')}`)
}

interface Report {
  code: number
  out: string
  failed: string[]
  skipped: string[]
  passed: number
}

/** Runs `bun run conformance` with `args`; the suite bounds each check itself. */
async function conformance(args: string[]): Promise<Report> {
  const {
    stdout: out,
    stderr: err,
    code,
  } = await runProcess(['bun', 'run', 'conformance', ...args], {
    cwd: root,
  })
  const lines = out.split('\n')
  return {
    code,
    out: `${out}${err}`,
    failed: lines.filter((l) => l.startsWith('FAIL')),
    skipped: lines.filter((l) => l.startsWith('SKIP')).map((l) => l.slice(5, l.indexOf(':'))),
    passed: lines.filter((l) => l.startsWith('PASS')).length,
  }
}

function expectClean(report: Report): void {
  // The whole output on failure: which check, and why.
  if (report.failed.length > 0 || report.code !== 0) console.error(report.out)
  expect(report.failed).toEqual([])
  expect(report.code).toBe(0)
}

/** Nothing logged at error by the servers under test. */
function expectNoErrorLogs(): void {
  for (const s of servers) expect(s.lines.filter((l) => l.includes('"level":"error"'))).toEqual([])
}

const CLUSTER_CHECKS = [
  'cluster › each node names itself in /health, and a room created on one is served by every node',
  'cluster › members on two nodes see each other join, type, post in one order and leave',
  'cluster › a member dropped on one node shows offline on the other, and resumes there with the missed messages',
  "cluster › a resume on one node closes the session's open connection on the other with 4001",
  'cluster › a ban on one node takes the member out on the other and keeps them out there',
]
const AUTH_OFF_CHECK = 'sign-in › with AUTH_MODE off, auth is invalid_message'

describe('the conformance suite', () => {
  it('passes against one server in memory, signed in with AUTH_MODE=optional', async () => {
    const server = await start({ AUTH_MODE: 'optional', AUTH_JWT_SECRET: SECRET })
    const report = await conformance([
      '--url',
      server.wsUrl,
      '--http',
      server.httpUrl,
      '--jwt-secret',
      SECRET,
      ...SUITE_OPTIONS,
    ])
    expectClean(report)
    expect(report.skipped).toEqual([AUTH_OFF_CHECK, ...CLUSTER_CHECKS])
    expect(report.passed).toBeGreaterThan(40)
    // And it fails when the server breaks what it was told: 3999 characters are taken here
    // whereas one past "the limit" must be refused. Exit 1, the check named, with why.
    const wrong = await conformance([
      ...['--url', server.wsUrl, '--only', 'MAX_CONTENT_CHARS', '--max-content-chars', '3999'],
      ...['--wait-ms', '1000'],
    ])
    expect(wrong.code).toBe(1)
    expect(wrong.failed).toHaveLength(1)
    expect(wrong.failed[0]).toContain('limits › takes MAX_CONTENT_CHARS characters')
    expect(wrong.out).toContain('got no error "invalid_message" within 1000 ms')
    expectNoErrorLogs()
  }, 60_000)

  it('passes its sign-in checks against a server with AUTH_MODE off', async () => {
    const server = await start({})
    const report = await conformance([
      '--url',
      server.wsUrl,
      '--only',
      'sign-in',
      '--jwt-secret',
      SECRET,
    ])
    expectClean(report)
    // The off check and GET /auth ran; the checks that need a sign-in skipped.
    expect(report.passed).toBe(2)
    expect(report.skipped).toHaveLength(4)
    expectNoErrorLogs()
  }, 60_000)

  it('passes against a two-node cluster on one Redis, cross-node checks included', async () => {
    await redis.start()
    const env = { REDIS_URL: redis.url, AUTH_MODE: 'optional', AUTH_JWT_SECRET: SECRET }
    const a = await start({ ...env, NODE_ID: 'conformance-1' })
    const b = await start({ ...env, NODE_ID: 'conformance-2' })
    const report = await conformance([
      ...['--url', a.wsUrl, '--http', a.httpUrl, '--url', b.wsUrl, '--http', b.httpUrl],
      ...['--jwt-secret', SECRET, ...SUITE_OPTIONS],
    ])
    expectClean(report)
    expect(report.skipped).toEqual([AUTH_OFF_CHECK])
    expectNoErrorLogs()
  }, 60_000)
})

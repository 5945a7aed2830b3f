/**
 * A real cluster for tests: a `redis-server` on a free loopback port (persistence off) and
 * chat nodes as child processes (`bun src/main.ts`) on their own ports, all stopped by PID
 * after each test. Nothing is mocked.
 */
import { afterEach } from 'bun:test'
import type { Subprocess } from 'bun'
import { TestClient } from './ws-client.ts'

const ROOT = new URL('../..', import.meta.url).pathname

/** A free TCP port on loopback (the OS picks it; we release it at once). */
export function freePort(): number {
  const server = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  const port = server.port
  server.stop(true)
  return port
}

async function until(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const end = Date.now() + timeoutMs
  while (Date.now() < end) {
    if (await check().catch(() => false)) return
    await Bun.sleep(20)
  }
  throw new Error(`timed out waiting for ${what}`)
}

export class RedisServer {
  private proc: Subprocess | undefined
  readonly port = freePort()

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  async start(): Promise<void> {
    this.proc = Bun.spawn(
      [
        'redis-server',
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
      ],
      { stdout: 'ignore', stderr: 'ignore' },
    )
    await until('redis', async () => (await this.command('PING')) === '+PONG')
  }

  /** Sends one inline command over a raw socket and returns the first reply line. */
  async command(...words: string[]): Promise<string> {
    const { promise, resolve, reject } = Promise.withResolvers<string>()
    let buf = ''
    const socket = await Bun.connect({
      hostname: '127.0.0.1',
      port: this.port,
      socket: {
        data(s, chunk) {
          buf += chunk.toString()
          const nl = buf.indexOf('\r\n')
          if (nl >= 0) {
            resolve(buf.slice(0, nl))
            s.end()
          }
        },
        error: (_s, e) => reject(e),
        close: () => reject(new Error('closed')),
      },
    })
    const wire = `*${words.length}\r\n${words.map((w) => `$${Buffer.byteLength(w)}\r\n${w}\r\n`).join('')}`
    socket.write(wire)
    return promise
  }

  /** Stops Redis; its data goes with it (no persistence). */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const proc = this.proc
    this.proc = undefined
    if (!proc) return
    proc.kill(signal)
    await proc.exited
  }

  /** Kills Redis at once, without waiting (for a process exit hook). */
  kill(): void {
    this.proc?.kill('SIGKILL')
    this.proc = undefined
  }

  async restart(): Promise<void> {
    await this.stop()
    await this.start()
  }
}

export interface NodeOptions {
  id?: string
  env?: Record<string, string>
  /** Wait until /health answers 200 (default true). */
  healthy?: boolean
}

export class ChatNode {
  readonly id: string
  port = 0
  private proc: Subprocess<'ignore', 'pipe', 'pipe'> | undefined
  output = ''

  constructor(
    private readonly redis: RedisServer,
    private readonly options: NodeOptions,
    id: string,
  ) {
    this.id = options.id ?? id
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/ws`
  }

  get httpUrl(): string {
    return `http://127.0.0.1:${this.port}`
  }

  /** Starts the node and waits until its /health says it has registered. */
  async start(): Promise<void> {
    this.output = ''
    this.port = 0
    const proc = Bun.spawn(['bun', 'src/main.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        PORT: '0',
        HOST: '127.0.0.1',
        REDIS_URL: this.redis.url,
        NODE_ID: this.id,
        LOG_LEVEL: 'info',
        SHUTDOWN_RECONNECT_SPREAD_MS: '0',
        ...this.options.env,
      },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    this.proc = proc
    const read = async (stream: ReadableStream<Uint8Array>) => {
      const decoder = new TextDecoder()
      for await (const chunk of stream) this.output += decoder.decode(chunk)
    }
    void read(proc.stdout)
    void read(proc.stderr)
    await until(`node ${this.id} to listen`, async () => {
      const m = this.output.match(/"port":(\d+)/)
      if (m) this.port = Number(m[1])
      return this.port > 0
    })
    if (this.options.healthy !== false) await this.healthy()
  }

  async healthy(timeoutMs = 10_000): Promise<void> {
    await until(
      `node ${this.id} to be healthy`,
      async () => (await this.health()).status === 200,
      timeoutMs,
    )
  }

  async health(): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`${this.httpUrl}/health`)
    return { status: res.status, body: (await res.json()) as Record<string, unknown> }
  }

  get pid(): number | undefined {
    return this.proc?.pid
  }

  /** Sends a signal and waits for the process to end; returns its exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const proc = this.proc
    this.proc = undefined
    if (!proc) return null
    proc.kill(signal)
    return proc.exited
  }

  /** The node's log lines at `warn` or `error`. */
  problems(): string[] {
    return this.output.split('\n').filter((l) => /"level":"error"/.test(l))
  }
}

export interface ClusterHarness {
  redis: RedisServer
  /** Starts Redis (once) and `count` nodes on it. */
  start(count: number, options?: NodeOptions): Promise<ChatNode[]>
  node(options?: NodeOptions): Promise<ChatNode>
  connect(node: ChatNode): Promise<TestClient>
  /** alice on `a` and bob on `b`, both in `room`; alice has seen bob join. */
  pair(a: ChatNode, b: ChatNode, room?: string): Promise<{ alice: TestClient; bob: TestClient }>
}

/**
 * Registers, for the calling test file, an `afterEach` that closes clients and stops every
 * node and Redis by PID. Call at module top level.
 */
export function useCluster(): ClusterHarness {
  // One Redis per test file, started afresh (empty) for each test on the same port.
  const redis = new RedisServer()
  let started = false
  const nodes: ChatNode[] = []
  const clients: TestClient[] = []
  let counter = 0

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close()
    await Promise.all(nodes.splice(0).map((n) => n.stop('SIGKILL')))
    await redis.stop()
    started = false
  })

  const harness: ClusterHarness = {
    redis,
    async start(count, options = {}) {
      const out: ChatNode[] = []
      for (let i = 0; i < count; i++) out.push(await harness.node(options))
      return out
    },
    async node(options = {}) {
      if (!started) {
        await redis.start()
        started = true
      }
      counter += 1
      const node = new ChatNode(redis, options, `node-${counter}`)
      nodes.push(node)
      await node.start()
      return node
    },
    async connect(node) {
      const c = await TestClient.connect(node.wsUrl)
      clients.push(c)
      return c
    },
    async pair(a, b, room = 'general') {
      const alice = await harness.connect(a)
      const bob = await harness.connect(b)
      await alice.join(room, 'alice')
      await bob.join(room, 'bob')
      await alice.next('user_joined')
      return { alice, bob }
    },
  }
  return harness
}

// A throw-away Debian `redis-server` for benchmarks: free loopback port, no persistence,
// restartable on the same port, stopped by its PID. Plus a one-shot raw RESP command that does
// not depend on any client library (used to publish probes and check what was executed).
import type { Subprocess } from 'bun'
import { sleep } from './stats'

/** A free TCP port on loopback (the OS picks it; we release it at once). */
export function freePort(): number {
  const server = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  const port = server.port
  server.stop(true)
  return port
}

/** One RESP reply: simple string, error (as an Error), integer, bulk string or null. */
export type Reply = string | number | null | Error

/** Parses the first complete reply in `buf` (arrays are not needed here), or undefined. */
function parseReply(buf: string): Reply | undefined {
  const nl = buf.indexOf('\r\n')
  if (nl < 0) return undefined
  const head = buf.slice(1, nl)
  switch (buf[0]) {
    case '+':
      return head
    case '-':
      return new Error(head)
    case ':':
      return Number(head)
    case '$': {
      const n = Number(head)
      if (n < 0) return null
      // Byte length equals string length for the ASCII values this bench reads.
      return buf.length >= nl + 2 + n + 2 ? buf.slice(nl + 2, nl + 2 + n) : undefined
    }
    default:
      return new Error(`unexpected reply ${JSON.stringify(buf.slice(0, 40))}`)
  }
}

export class RedisServer {
  private proc: Subprocess | undefined
  readonly port = freePort()

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  get pid(): number {
    return this.proc?.pid ?? 0
  }

  /** Starts redis-server and waits (at most 5 s) until it answers PING. */
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
        // DEBUG SLEEP keeps a command in flight on purpose (scenario "in flight when killed").
        '--enable-debug-command',
        'local',
      ],
      { stdout: 'ignore', stderr: 'ignore', stdin: 'ignore' },
    )
    const end = performance.now() + 5000
    while (performance.now() < end) {
      if ((await this.command(['PING']).catch(() => null)) === 'PONG') return
      await sleep(10)
    }
    await this.stop()
    throw new Error(`redis-server did not answer on port ${this.port} within 5 s`)
  }

  /** Stops it by PID (SIGKILL by default: an abrupt loss, and no persistence, so no data). */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const proc = this.proc
    this.proc = undefined
    if (!proc) return
    proc.kill(signal)
    await Promise.race([proc.exited, sleep(5000)])
  }

  /**
   * Sends one command on a fresh connection and returns its first reply. `wait: false` only
   * writes it (for DEBUG SLEEP, whose reply never comes when the server is killed meanwhile).
   */
  async command(words: string[], wait = true, timeoutMs = 2000): Promise<Reply> {
    const { promise, resolve, reject } = Promise.withResolvers<Reply>()
    // Bun.connect both rejects and calls connectError when nobody listens: keep the second quiet.
    promise.catch(() => {})
    let buf = ''
    const socket = await Bun.connect({
      hostname: '127.0.0.1',
      port: this.port,
      socket: {
        data(s, chunk) {
          buf += chunk.toString()
          const reply = parseReply(buf)
          if (reply !== undefined) {
            resolve(reply)
            s.end()
          }
        },
        error: (_s, e) => reject(e),
        close: () => reject(new Error('closed')),
        connectError: (_s, e) => reject(e),
      },
    })
    socket.write(
      `*${words.length}\r\n${words.map((w) => `$${Buffer.byteLength(w)}\r\n${w}\r\n`).join('')}`,
    )
    if (!wait) return null
    const timer = setTimeout(() => {
      reject(new Error(`no reply to ${words[0]} in ${timeoutMs} ms`))
      socket.end()
    }, timeoutMs)
    try {
      return await promise
    } finally {
      clearTimeout(timer)
    }
  }
}

import type { Subprocess } from 'bun'

/** A server running as its own process (for RSS measurements and the compiled executable). */
export interface ChildServer {
  proc: Subprocess<'ignore', 'pipe', 'pipe'>
  port: number
  httpUrl: string
  wsUrl: string
  /** Every stdout line so far (JSON log lines). */
  lines: string[]
  /** The process's resident set size in bytes, from /proc/<pid>/status. */
  rss(): Promise<number>
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number>
}

/**
 * Starts `command` with PORT=0 on 127.0.0.1 and waits for its `listening` log line, which
 * tells the port. Fails after `ms` if the line does not come.
 */
export async function startChild(
  command: string[],
  env: Record<string, string> = {},
  ms = 8000,
): Promise<ChildServer> {
  const proc = Bun.spawn(command, {
    env: { ...Bun.env, PORT: '0', HOST: '127.0.0.1', LOG_FORMAT: 'json', ...env },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const lines: string[] = []
  let resolvePort: (port: number) => void = () => {}
  const port = new Promise<number>((resolve) => {
    resolvePort = resolve
  })
  void (async () => {
    const decoder = new TextDecoder()
    let rest = ''
    for await (const chunk of proc.stdout) {
      rest += decoder.decode(chunk, { stream: true })
      const parts = rest.split('\n')
      rest = parts.pop() ?? ''
      for (const line of parts) {
        lines.push(line)
        try {
          const entry = JSON.parse(line) as { message?: string; port?: number }
          if (entry.message === 'listening' && entry.port) resolvePort(entry.port)
        } catch {
          // not a log line
        }
      }
    }
  })()
  let timer: Timer | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      proc.kill('SIGKILL')
      reject(new Error(`no "listening" line within ${ms} ms: ${lines.join('\n')}`))
    }, ms)
  })
  const p = await Promise.race([port, timeout]).finally(() => clearTimeout(timer))
  return {
    proc,
    port: p,
    httpUrl: `http://127.0.0.1:${p}`,
    wsUrl: `ws://127.0.0.1:${p}/ws`,
    lines,
    async rss() {
      const status = await Bun.file(`/proc/${proc.pid}/status`).text()
      return Number(status.match(/VmRSS:\s+(\d+) kB/)?.[1]) * 1024
    },
    async stop() {
      proc.kill('SIGTERM')
      return proc.exited
    },
  }
}

// Process helpers: start a target, find the pid that owns its listening socket, read CPU/RSS from /proc, stop by pid.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { sleep } from './stats'

const CLK_TCK = 100 // Linux USER_HZ

function read(path: string): string | null {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return null
  }
}

/** utime+stime of a process (all threads), in seconds; NaN if gone. */
export function cpuSeconds(pid: number): number {
  const s = read(`/proc/${pid}/stat`)
  if (!s) return Number.NaN
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ')
  return (Number(f[11]) + Number(f[12])) / CLK_TCK // fields 14 and 15 of stat
}

/** VmRSS and VmHWM in KiB. */
export function memKiB(pid: number): { rss: number; hwm: number } {
  const s = read(`/proc/${pid}/status`) ?? ''
  const get = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? Number.NaN)
  return { rss: get('VmRSS'), hwm: get('VmHWM') }
}

export function alive(pid: number): boolean {
  const s = read(`/proc/${pid}/stat`)
  if (!s) return false
  return s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3) !== 'Z'
}

function listenInodes(port: number): Set<string> {
  const out = new Set<string>()
  const hex = port.toString(16).toUpperCase().padStart(4, '0')
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of (read(f) ?? '').split('\n').slice(1)) {
      const c = line.trim().split(/\s+/)
      const inode = c[9]
      if (inode !== undefined && c[1]?.endsWith(`:${hex}`) && c[3] === '0A') out.add(inode)
    }
  }
  return out
}

function descendants(pid: number): number[] {
  const out = [pid]
  for (let i = 0; i < out.length && i < 1000; i++) {
    for (const t of safeList(`/proc/${out[i]}/task`)) {
      const kids = read(`/proc/${out[i]}/task/${t}/children`) ?? ''
      for (const k of kids.trim().split(/\s+/)) if (k) out.push(Number(k))
    }
  }
  return out
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
}

/** The pid (the root or one of its descendants) holding a LISTEN socket on `port`, or null. */
export function findListeningPid(rootPid: number, port: number): number | null {
  const inodes = listenInodes(port)
  if (inodes.size === 0) return null
  for (const pid of descendants(rootPid)) {
    for (const fd of safeList(`/proc/${pid}/fd`)) {
      let link = ''
      try {
        link = readlinkSync(`/proc/${pid}/fd/${fd}`)
      } catch {
        continue
      }
      const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1]
      if (inode !== undefined && inodes.has(inode)) return pid
    }
  }
  return null
}

export interface Started {
  proc: ReturnType<typeof Bun.spawn>
  wrapperPid: number
  serverPid: number
}

/** Spawn `cmd`, wait until something answers HTTP on the port and a descendant owns the listen socket. */
export async function startServer(
  cmd: string[],
  opts: {
    cwd: string
    env: Record<string, string>
    port: number
    logPath: string
    timeoutMs?: number
  },
): Promise<Started> {
  const proc = Bun.spawn(cmd, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdout: Bun.file(opts.logPath),
    stderr: 'pipe',
    stdin: 'ignore',
  })
  const errChunks: string[] = []
  void (async () => {
    try {
      for await (const c of proc.stderr as ReadableStream<Uint8Array>) {
        if (errChunks.join('').length < 20_000) errChunks.push(new TextDecoder().decode(c))
      }
    } catch {}
  })()
  const end = performance.now() + (opts.timeoutMs ?? 15_000)
  try {
    while (performance.now() < end) {
      if (proc.exitCode !== null || !alive(proc.pid)) {
        await sleep(50)
        throw new Error(`exited with ${proc.exitCode}: ${errChunks.join('').slice(-1500)}`)
      }
      const ok = await fetch(`http://127.0.0.1:${opts.port}/health`, {
        signal: AbortSignal.timeout(500),
      })
        .then(() => true)
        .catch(() => false)
      if (ok) {
        const serverPid = findListeningPid(proc.pid, opts.port)
        if (serverPid) return { proc, wrapperPid: proc.pid, serverPid }
      }
      await sleep(100)
    }
    throw new Error(
      `did not listen on 127.0.0.1:${opts.port} within ${opts.timeoutMs ?? 15_000} ms: ${errChunks.join('').slice(-1500)}`,
    )
  } catch (e) {
    await stopPids([proc.pid, ...descendants(proc.pid).slice(1)])
    throw e
  }
}

/** SIGTERM each pid, then SIGKILL whatever is still alive after `graceMs`. Only the given pids. */
export async function stopPids(pids: number[], graceMs = 3000): Promise<void> {
  const list = [...new Set(pids.filter((p) => p > 0))]
  for (const p of list) {
    try {
      process.kill(p, 'SIGTERM')
    } catch {}
  }
  const end = performance.now() + graceMs
  while (performance.now() < end && list.some(alive)) await sleep(50)
  for (const p of list) {
    if (alive(p)) {
      try {
        process.kill(p, 'SIGKILL')
      } catch {}
    }
  }
}

export async function stopServer(s: Started): Promise<void> {
  const pids = [s.serverPid, ...descendants(s.wrapperPid), s.wrapperPid]
  await stopPids(pids)
  await Promise.race([s.proc.exited, sleep(2000)])
}

// capacity: how many idle, joined connections one server holds. Rooms of 100 are filled in steps by several
// generator processes (bench/lib/capacity-worker.ts), each from its own loopback source address; at each step the
// server's RSS, live heap, CPU at rest, the time to connect and join, and the latency of room messages are recorded.
// The last step is the most the server's open-files limit allows; beyond it the result is extrapolated.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Subprocess } from 'bun'
import type { WorkerHealth, WorkerReply, WorkerRequest } from './capacity-worker'
import { cpuSeconds, memKiB } from './proc'
import type { Opts, Row } from './scenarios'
import { Histogram, sleep } from './stats'
import { REPO, type Running, withFdLimit } from './targets'

const PER_ROOM = 100
/** Connections per generator process: well under any per-process fd limit that can hold a server's worth. */
const PER_WORKER = 5000
const STEPS = [1000, 2500, 5000, 10_000, 15_000, 20_000, 30_000, 50_000, 75_000, 100_000]
/** File descriptors a server keeps besides its client sockets (listeners, epoll, pipes, log…), with a margin. */
const FD_RESERVE = 50
const REPLY_TIMEOUT_MS = 180_000
const r2 = (x: number) => Math.round(x * 100) / 100

/** The soft "Max open files" of a process (after our `ulimit -n` raised it to the hard one). */
export function fdLimit(pid: number | 'self'): number {
  try {
    const line = readFileSync(`/proc/${pid}/limits`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'))
    const v = Number(line?.split(/\s{2,}/)[1])
    return Number.isFinite(v) ? v : Number.POSITIVE_INFINITY
  } catch {
    return Number.POSITIVE_INFINITY
  }
}

function openFds(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length
  } catch {
    return 0
  }
}

/** Least-squares line y = a + b·x. */
export function fitLine(points: [number, number][]): { a: number; b: number } {
  const n = points.length
  if (n < 2) return { a: Number.NaN, b: Number.NaN }
  const mx = points.reduce((s, p) => s + p[0], 0) / n
  const my = points.reduce((s, p) => s + p[1], 0) / n
  let sxy = 0
  let sxx = 0
  for (const [x, y] of points) {
    sxy += (x - mx) * (y - my)
    sxx += (x - mx) ** 2
  }
  const b = sxx > 0 ? sxy / sxx : Number.NaN
  return { a: my - b * mx, b }
}

/** A generator process and its one request in flight. */
class Worker {
  private readonly proc: Subprocess
  private waiting: ((r: WorkerReply & { health: WorkerHealth }) => void) | null = null
  health: WorkerHealth = { errors: 0, unexpectedCloses: 0, errorSample: null, clients: 0 }
  rooms = 0

  constructor(readonly localAddress: string) {
    this.proc = Bun.spawn(
      withFdLimit([process.execPath, join(REPO, 'bench/lib/capacity-worker.ts')]),
      {
        cwd: REPO,
        stdin: 'ignore',
        stdout: 'inherit',
        stderr: 'inherit',
        ipc: (m: WorkerReply & { health: WorkerHealth }) => {
          this.health = m.health
          const w = this.waiting
          this.waiting = null
          w?.(m)
        },
      },
    )
  }

  get pid(): number {
    return this.proc.pid
  }

  request(req: WorkerRequest, timeoutMs = REPLY_TIMEOUT_MS): Promise<WorkerReply> {
    if (this.waiting) throw new Error('worker busy')
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = null
        reject(
          new Error(`generator ${this.localAddress}: no reply to ${req.op} in ${timeoutMs} ms`),
        )
      }, timeoutMs)
      this.waiting = (m) => {
        clearTimeout(timer)
        if (m.op === 'failed') reject(new Error(`generator ${this.localAddress}: ${m.error}`))
        else resolve(m)
      }
      this.proc.send(req)
    })
  }

  async stop(): Promise<void> {
    await this.request({ op: 'close' }, 5000).catch(() => {})
    await Promise.race([this.proc.exited, sleep(1000)])
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL')
  }
}

/** The machine's 1-minute load average: other work on a shared machine shows here. */
function loadAvg(): number {
  try {
    return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0])
  } catch {
    return Number.NaN
  }
}

/** One window of room messages on every generator; deliveries merged into one histogram. */
async function probeWindow(workers: Worker[], pid: number, durS: number, tickMs: number) {
  const c0 = cpuSeconds(pid)
  const t0 = performance.now()
  const probes = await Promise.all(
    workers
      .filter((w) => w.rooms > 0)
      .map((w) => w.request({ op: 'probe', ratePerRoom: 1, warmS: 1, durS, tickMs })),
  )
  const cpu = (cpuSeconds(pid) - c0) / ((performance.now() - t0) / 1000)
  const hist = new Histogram()
  let sent = 0
  let expected = 0
  let delivered = 0
  let behind = 0
  for (const p of probes) {
    if (p.op !== 'probed') continue
    hist.addSparse(p.hist, p.max)
    sent += p.sent
    expected += p.expected
    delivered += p.delivered
    behind += p.behind
  }
  return {
    sent,
    delivered,
    cpu,
    behind,
    lossPct: expected ? (100 * (expected - Math.min(expected, delivered))) / expected : 0,
    p50: hist.quantileMs(0.5),
    p99: hist.quantileMs(0.99),
    max: hist.max / 1000,
  }
}

interface HeapInfo {
  heap_size: number
  object_count: number
}

async function probeHeap(rt: Running, gc: boolean): Promise<HeapInfo | null> {
  if (!rt.probePort) return null
  const res = await fetch(`http://127.0.0.1:${rt.probePort}/heap${gc ? '?gc=1' : ''}`, {
    signal: AbortSignal.timeout(30_000),
  })
  return (await res.json()) as HeapInfo
}

export interface CapacityOpts extends Opts {
  /** Steps in connections; default 1k, 2.5k, 5k, 10k, 15k, … up to the open-files limit. */
  steps?: number[]
}

/** Runs the steps against one server; `onStep` gets a row per step, the return value sums them up. */
export async function capacity(
  rt: Running,
  o: CapacityOpts,
  onStep: (r: Row) => void,
): Promise<Row> {
  const pid = rt.serverPid
  const serverFds = fdLimit(pid)
  const genFds = fdLimit('self')
  const limit = Math.min(
    100_000,
    Math.floor((serverFds - openFds(pid) - FD_RESERVE) / PER_ROOM) * PER_ROOM,
  )
  const perWorker = Math.min(PER_WORKER, Math.floor((genFds - FD_RESERVE) / PER_ROOM) * PER_ROOM)
  const wanted = o.steps ?? (o.smoke ? [200, 400] : STEPS)
  const steps = wanted.filter((s) => s < limit)
  if (!o.steps && !o.smoke && (steps.length === 0 || (steps[steps.length - 1] ?? 0) < limit))
    steps.push(limit)
  const restS = o.smoke ? 1 : 5
  const probeS = o.smoke ? 1 : o.duration
  const deadline = performance.now() + (o.smoke ? 60_000 : 20 * 60_000)
  const workers: Worker[] = []
  let rooms = 0
  let stopReason = 'all steps passed'
  const done: Row[] = []

  await sleep(500)
  const idle = memKiB(pid).rss
  const idleHeap = await probeHeap(rt, true)
  const idleRssAfterGc = memKiB(pid).rss
  try {
    for (const step of steps) {
      if (performance.now() > deadline) {
        stopReason = 'time bound reached'
        break
      }
      // new rooms, handed to the generators in order, each filled to PER_WORKER before the next starts
      const want = Math.floor(step / PER_ROOM) - rooms
      const ids: string[] = []
      for (let i = 0; i < want; i++)
        ids.push(await rt.createRoom(`cap-${o.tag}-${rooms + i}`, PER_ROOM + 10))
      const plan = new Map<Worker, string[]>()
      for (const id of ids) {
        let w = workers.find((x) => x.rooms * PER_ROOM < perWorker)
        if (!w) {
          // 127.0.0.2, 127.0.0.3, …: every source address has its own ephemeral ports
          w = new Worker(`127.0.0.${2 + workers.length}`)
          workers.push(w)
        }
        w.rooms++
        plan.set(w, [...(plan.get(w) ?? []), id])
      }
      const c0 = cpuSeconds(pid)
      const t0 = performance.now()
      const added = await Promise.all(
        [...plan].map(([w, list]) =>
          w.request({
            op: 'add',
            port: rt.port,
            proto: rt.proto,
            localAddress: w.localAddress,
            rooms: list,
            perRoom: PER_ROOM,
            tag: `${o.tag}${w.localAddress.split('.')[3]}`,
            from: (w.rooms - list.length) * PER_ROOM,
          }),
        ),
      )
      const joinMs = performance.now() - t0
      const joinCpu = cpuSeconds(pid) - c0
      rooms += want
      const newConns = want * PER_ROOM
      const allJoined = added.every((a) => a.op === 'added' && a.allJoined)
      const connectMs = Math.max(...added.map((a) => (a.op === 'added' ? a.connectMs : 0)))
      // at rest: nobody sends; the server only answers heartbeats
      await sleep(o.smoke ? 300 : 2000)
      const r0 = cpuSeconds(pid)
      const tr = performance.now()
      await sleep(restS * 1000)
      const restCpu = (cpuSeconds(pid) - r0) / ((performance.now() - tr) / 1000)
      const rss = memKiB(pid).rss
      // room messages: one sender per room, once per second, every member timed. Another load on the shared
      // machine can stall either process for a moment: a window with p99 ≥ 50 ms is repeated once and both kept.
      const first = await probeWindow(workers, pid, probeS, o.tick)
      const second = first.p99 >= 50 ? await probeWindow(workers, pid, probeS, o.tick) : null
      const pr = second ?? first
      const heap = await probeHeap(rt, true)
      const rssAfterGc = memKiB(pid).rss
      const errors = workers.reduce((s, w) => s + w.health.errors, 0)
      const closes = workers.reduce((s, w) => s + w.health.unexpectedCloses, 0)
      const conns = rooms * PER_ROOM
      const pass = allJoined && errors === 0 && closes === 0 && pr.lossPct === 0
      const row: Row = {
        step,
        connections: conns,
        rooms,
        generators: workers.length,
        new_connections: newConns,
        all_joined: allJoined,
        connect_ms: connectMs,
        connect_join_ms: Math.round(joinMs),
        joins_per_s: Math.round(newConns / (joinMs / 1000)),
        join_server_cpu_s: r2(joinCpu),
        rss_kib: rss,
        rss_after_gc_kib: rssAfterGc,
        kib_per_conn: r2((rss - idle) / conns),
        heap_kib: heap ? Math.round(heap.heap_size / 1024) : null,
        heap_objects: heap?.object_count ?? null,
        heap_kib_per_conn:
          heap && idleHeap ? r2((heap.heap_size - idleHeap.heap_size) / 1024 / conns) : null,
        objects_per_conn:
          heap && idleHeap ? r2((heap.object_count - idleHeap.object_count) / conns) : null,
        cpu_rest_pct: r2(100 * restCpu),
        probe_msgs_per_s: Math.round(pr.sent / probeS),
        probe_deliveries_per_s: Math.round(pr.delivered / probeS),
        probe_server_cpu_pct: r2(100 * pr.cpu),
        loss_pct: r2(pr.lossPct),
        p50_ms: pr.p50,
        p99_ms: pr.p99,
        max_ms: pr.max,
        probe_windows: second ? 2 : 1,
        p99_first_window_ms: second ? first.p99 : null,
        generator_behind: pr.behind,
        loadavg_1m: loadAvg(),
        errors,
        unexpected_closes: closes,
        error_sample: workers.map((w) => w.health.errorSample).find((x) => x) ?? null,
        pass,
      }
      onStep(row)
      done.push(row)
      if (!pass) {
        stopReason = !allJoined ? 'connect/join failed' : 'errors, closes or lost messages'
        break
      }
    }
  } finally {
    await Promise.all(workers.map((w) => w.stop()))
  }
  const last = done[done.length - 1]
  const fit = fitLine(done.map((r) => [r.connections as number, r.rss_kib as number]))
  const heapFit = fitLine(
    done
      .filter((r) => typeof r.heap_kib === 'number')
      .map((r) => [r.connections as number, r.heap_kib as number]),
  )
  return {
    fd_limit_server: Number.isFinite(serverFds) ? serverFds : null,
    fd_limit_generator: Number.isFinite(genFds) ? genFds : null,
    connection_limit: limit,
    per_generator: perWorker,
    rss_idle_kib: idle,
    rss_idle_after_gc_kib: idleRssAfterGc,
    heap_idle_kib: idleHeap ? Math.round(idleHeap.heap_size / 1024) : null,
    steps: done.length,
    max_connections: (last?.connections as number) ?? 0,
    all_passed: done.length > 0 && done.every((r) => r.pass),
    stop_reason: stopReason,
    slope_kib_per_conn: r2(fit.b),
    intercept_kib: Math.round(fit.a),
    heap_slope_kib_per_conn: r2(heapFit.b),
    extrapolated_rss_100k_mib: Math.round((fit.a + fit.b * 100_000) / 1024),
    top_rss_kib: (last?.rss_kib as number) ?? null,
    top_p99_ms: (last?.p99_ms as number) ?? null,
    top_cpu_rest_pct: (last?.cpu_rest_pct as number) ?? null,
  }
}

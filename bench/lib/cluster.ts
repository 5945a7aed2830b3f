// The cluster scenario: the fan-out load split over two nodes behind one Redis, against one node alone and against
// Socket.IO on two Node processes with @socket.io/redis-adapter. A "fleet" is every process of one target (nodes and
// Redis); CPU and memory are summed over all of them. Loopback only; every process is stopped by its pid.
import { mkdirSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import Redis from 'ioredis'
import { type ClientKind, Hub, nowUs, type Proto } from './clients'
import { closeAll, connectAll, joinAll, makeClients, OpenLoop } from './load'
import { alive, cpuSeconds, memKiB, type Started, startServer, stopPids, stopServer } from './proc'
import { fanoutLoad, type Opts, type Row } from './scenarios'
import { sleep, waitFor } from './stats'
import { DEFS, REPO, RESULTS } from './targets'

export const CLUSTER_TARGETS = [
  'one-node',
  'two-nodes',
  'socketio-redis',
  'bun-one',
  'bun-redis',
  'bun-ioredis',
] as const
export type ClusterTarget = (typeof CLUSTER_TARGETS)[number]
export const isClusterTarget = (t: string): t is ClusterTarget =>
  (CLUSTER_TARGETS as readonly string[]).includes(t)

interface ClusterDef {
  label: string
  proto: Proto
  nodes: number
  redis: boolean
  /** The project creates rooms with POST /rooms; the peers create a room on its first join. */
  restRooms: boolean
  cmd: (bun: string) => string[]
  env: Record<string, string>
}

export const CLUSTER_DEFS: Record<ClusterTarget, ClusterDef> = {
  'one-node': {
    label: 'project, one node (no Redis)',
    proto: 'json',
    nodes: 1,
    redis: false,
    restRooms: true,
    cmd: DEFS.project.cmd,
    env: DEFS.project.env ?? {},
  },
  'two-nodes': {
    label: 'project, 2 nodes + Redis',
    proto: 'json',
    nodes: 2,
    redis: true,
    restRooms: true,
    cmd: DEFS.project.cmd,
    env: DEFS.project.env ?? {},
  },
  'socketio-redis': {
    label: 'Socket.IO 4, 2 nodes + redis-adapter',
    proto: 'sio',
    nodes: 2,
    redis: true,
    restRooms: false,
    cmd: () => ['node', join(REPO, 'bench/peers/socketio-redis.mjs')],
    env: {},
  },
  // floors: what a bare bridge (one PUBLISH per message) costs, with Bun's own client and with ioredis
  'bun-redis': {
    label: 'bare Bun, 2 nodes + Redis PUBLISH (Bun RedisClient)',
    proto: 'json',
    nodes: 2,
    redis: true,
    restRooms: false,
    cmd: (bun) => [bun, join(REPO, 'bench/peers/bun-redis.ts')],
    env: { REDIS_CLIENT: 'native' },
  },
  'bun-ioredis': {
    label: 'bare Bun, 2 nodes + Redis PUBLISH (ioredis)',
    proto: 'json',
    nodes: 2,
    redis: true,
    restRooms: false,
    cmd: (bun) => [bun, join(REPO, 'bench/peers/bun-redis.ts')],
    env: { REDIS_CLIENT: 'ioredis' },
  },
  'bun-one': {
    label: 'bare Bun, one node (no Redis)',
    proto: 'json',
    nodes: 1,
    redis: false,
    restRooms: false,
    cmd: DEFS.bun.cmd,
    env: {},
  },
}

export interface RedisProc {
  pid: number
  port: number
  url: string
  proc: ReturnType<typeof Bun.spawn>
}

async function freePort(): Promise<number> {
  const l = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  const p = l.port
  l.stop(true)
  return p
}

/** A fresh redis-server on a free loopback port, persistence off; resolves once it answers PING. */
export async function startRedis(logPath: string): Promise<RedisProc> {
  const port = await freePort()
  const proc = Bun.spawn(
    [
      'redis-server',
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--logfile',
      logPath,
    ],
    { stdin: 'ignore', stdout: 'ignore', stderr: 'ignore' },
  )
  const url = `redis://127.0.0.1:${port}`
  const end = performance.now() + 10_000
  while (performance.now() < end && proc.exitCode === null) {
    const probe = new Redis(url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    })
    probe.on('error', () => {})
    const ok = await probe
      .connect()
      .then(() => probe.ping())
      .then((r) => r === 'PONG')
      .catch(() => false)
    probe.disconnect()
    if (ok) return { pid: proc.pid, port, url, proc }
    await sleep(50)
  }
  await stopPids([proc.pid])
  throw new Error(
    `redis-server did not answer PING on 127.0.0.1:${port} (is redis-server installed?)`,
  )
}

/** Every process of one target, and how to reach its nodes. */
export interface Fleet {
  name: ClusterTarget
  proto: Proto
  kind: ClientKind
  ports: number[]
  nodes: Started[]
  redis: RedisProc | null
  /** The pids whose CPU and memory count: every node's server process, and Redis. */
  pids(): number[]
  createRoom(name: string, maxUsers: number): Promise<string>
}

async function healthy(port: number, timeoutMs: number): Promise<boolean> {
  const end = performance.now() + timeoutMs
  while (performance.now() < end) {
    const status = await fetch(`http://127.0.0.1:${port}/health`, {
      signal: AbortSignal.timeout(500),
    })
      .then((r) => r.status)
      .catch(() => 0)
    if (status === 200) return true
    await sleep(100)
  }
  return false
}

export async function startFleet(
  name: ClusterTarget,
  kind: ClientKind,
  logTag: string,
): Promise<Fleet> {
  const d = CLUSTER_DEFS[name]
  const logs = join(RESULTS, 'logs')
  mkdirSync(logs, { recursive: true })
  const redis = d.redis ? await startRedis(join(logs, `${logTag}-${name}-redis.log`)) : null
  const nodes: Started[] = []
  const ports: number[] = []
  try {
    for (let i = 0; i < d.nodes; i++) {
      const port = await freePort()
      const env: Record<string, string> = { ...d.env, PORT: String(port) }
      if (redis) {
        env.REDIS_URL = redis.url
        env.NODE_ID = `bench-${i}`
      }
      nodes.push(
        await startServer(d.cmd(process.execPath), {
          cwd: REPO,
          env,
          port,
          logPath: join(logs, `${logTag}-${name}-${i}.log`),
          timeoutMs: 20_000,
        }),
      )
      ports.push(port)
      // a cluster node answers /health 503 until it has joined the cluster
      if (!(await healthy(port, 15_000))) throw new Error(`node ${i} of ${name}: /health not 200`)
    }
  } catch (e) {
    await stopFleetParts(nodes, redis)
    throw e
  }
  const createRoom = async (room: string, maxUsers: number): Promise<string> => {
    if (!d.restRooms) return room
    const res = await fetch(`http://127.0.0.1:${ports[0]}/rooms`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: room, max_users: maxUsers }),
      signal: AbortSignal.timeout(10_000),
    })
    const body = (await res.json().catch(() => ({}))) as { id?: string }
    if (res.status !== 201 || !body.id)
      throw new Error(`POST /rooms ${room}: ${res.status} ${JSON.stringify(body).slice(0, 200)}`)
    return body.id
  }
  return {
    name,
    proto: d.proto,
    kind,
    ports,
    nodes,
    redis,
    pids: () => [...nodes.map((n) => n.serverPid), ...(redis ? [redis.pid] : [])],
    createRoom,
  }
}

async function stopFleetParts(nodes: Started[], redis: RedisProc | null): Promise<void> {
  await Promise.all(nodes.map((n) => stopServer(n)))
  if (redis) {
    await stopPids([redis.pid])
    await Promise.race([redis.proc.exited, sleep(2000)])
  }
}

export const stopFleet = (f: Fleet) => stopFleetParts(f.nodes, f.redis)

const r2 = (x: number) => Math.round(x * 100) / 100
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0)

/** Redis's own count of commands (scripts' inner commands included) since the last CONFIG RESETSTAT. */
async function commandStats(r: Redis): Promise<Map<string, { calls: number; usec: number }>> {
  const text = await r.info('commandstats')
  const out = new Map<string, { calls: number; usec: number }>()
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm))
    out.set(m[1] ?? '', { calls: Number(m[2]), usec: Number(m[3]) })
  return out
}

/**
 * The fanout load (same rooms, clients and rate as the fanout scenario), clients spread evenly over the fleet's
 * nodes (client i on node i mod n). One window of `o.duration` seconds after 1 s of warm-up; CPU summed over the
 * nodes and Redis; every client's in-window deliveries checked against what was sent to its room.
 */
export async function clusterFanout(f: Fleet, o: Opts): Promise<Row> {
  const { rooms, perRoom, rate } = fanoutLoad(o.smoke)
  const hub = new Hub()
  const nodePids = f.nodes.map((n) => n.serverPid)
  const redisPid = f.redis?.pid ?? null
  await sleep(300)
  const rssIdle = sum(f.pids().map((p) => memKiB(p).rss))
  const clients = makeClients(0, rooms * perRoom, o.tag)
  const ids: string[] = []
  for (let i = 0; i < rooms; i++) ids.push(await f.createRoom(`bench-${o.tag}-${i}`, perRoom + 10))
  clients.forEach((c, i) => {
    c.room = ids[i % rooms] ?? ''
  })
  const n = f.ports.length
  const onNode = (k: number) => clients.filter((_, i) => i % n === k)
  const loop = new OpenLoop(hub, rate, o.tick)
  const stats = f.redis ? new Redis(f.redis.url, { maxRetriesPerRequest: 1 }) : null
  stats?.on('error', () => {})
  try {
    const connected = sum(
      await Promise.all(
        f.ports.map((port, k) =>
          connectAll(hub, { port, proto: f.proto, kind: f.kind }, onNode(k), 100, 60_000),
        ),
      ),
    )
    const allJoined = await joinAll(hub, clients, 60_000)
    const rssJoined = sum(f.pids().map((p) => memKiB(p).rss))
    loop.setClients(clients)
    loop.start()
    await sleep(o.smoke ? 300 : 1000)

    // ---- the window ----
    await stats?.config('RESETSTAT')
    for (const c of clients) c.inWindow = 0
    const cpu = () => ({
      nodes: sum(nodePids.map(cpuSeconds)),
      redis: redisPid === null ? 0 : cpuSeconds(redisPid),
    })
    const f0 = hub.framesIn
    const r0 = hub.readsIn
    const t0 = nowUs()
    const c0 = cpu()
    const g0 = process.cpuUsage()
    hub.openWindow(t0, t0 + o.duration * 1e6)
    let peak = 0
    const end = performance.now() + o.duration * 1000
    while (performance.now() < end) {
      peak = Math.max(peak, sum(f.pids().map((p) => memKiB(p).rss)))
      await sleep(Math.min(250, Math.max(1, end - performance.now())))
    }
    const wall = (nowUs() - t0) / 1e6
    const c1 = cpu()
    const g = process.cpuUsage(g0)
    const framesPerRead = (hub.framesIn - f0) / Math.max(1, hub.readsIn - r0)
    const cmd = stats ? await commandStats(stats) : null
    await waitFor(() => hub.delivered >= hub.expected, 2000, 10)
    loop.stop()
    // ---- after the window: account for every client ----
    const perClient = clients.filter((c) => c.joined).map((c) => c.inWindow)
    const sentPerRoom = hub.sent / rooms // one room in the fanout load: every member is owed every message sent
    const short = perClient.filter((x) => x < sentPerRoom).length
    const extra = perClient.filter((x) => x > sentPerRoom).length
    const shortByNode = f.ports.map(
      (_, k) => onNode(k).filter((c) => c.joined && c.inWindow < sentPerRoom).length,
    )
    const nodeCpu = c1.nodes - c0.nodes
    const redisCpu = c1.redis - c0.redis
    const h = hub.hist
    const calls = cmd ? sum([...cmd.values()].map((v) => v.calls)) : Number.NaN
    const usec = cmd ? sum([...cmd.values()].map((v) => v.usec)) : Number.NaN
    const top = cmd
      ? [...cmd.entries()]
          .sort((a, b) => b[1].calls - a[1].calls)
          .slice(0, 8)
          .map(([k, v]) => `${k}=${v.calls}`)
          .join(' ')
      : null
    return {
      nodes: n,
      clients: clients.length,
      connected,
      joined: hub.joinedCount,
      all_joined: allJoined,
      offered_per_s: rooms * perRoom * perRoom * rate,
      sent: hub.sent,
      expected: hub.expected,
      delivered: hub.delivered,
      expected_per_s: Math.round(hub.expected / o.duration),
      delivered_per_s: Math.round(hub.delivered / o.duration),
      loss_pct: hub.expected
        ? r2((100 * (hub.expected - Math.min(hub.delivered, hub.expected))) / hub.expected)
        : null,
      clients_short: short,
      clients_extra: extra,
      clients_short_by_node: shortByNode.join('/'),
      min_client_deliveries: perClient.length ? Math.min(...perClient) : null,
      max_client_deliveries: perClient.length ? Math.max(...perClient) : null,
      p50_ms: h.quantileMs(0.5),
      p95_ms: h.quantileMs(0.95),
      p99_ms: h.quantileMs(0.99),
      max_ms: h.max / 1000,
      server_cpu_pct: r2((100 * (nodeCpu + redisCpu)) / wall),
      node_cpu_pct: r2((100 * nodeCpu) / wall),
      redis_cpu_pct: redisPid === null ? null : r2((100 * redisCpu) / wall),
      cpu_us_per_delivery: hub.delivered ? r2(((nodeCpu + redisCpu) * 1e6) / hub.delivered) : null,
      gen_cpu_pct: r2((100 * (g.user + g.system)) / 1e6 / wall),
      frames_per_read: f.kind === 'raw' && f.proto === 'json' ? r2(framesPerRead) : null,
      redis_calls_per_msg: hub.sent && cmd ? r2(calls / hub.sent) : null,
      redis_usec_per_msg: hub.sent && cmd ? r2(usec / hub.sent) : null,
      redis_top_commands: top,
      rss_idle_kib: rssIdle,
      rss_joined_kib: rssJoined,
      rss_peak_kib: Math.max(peak, sum(f.pids().map((p) => memKiB(p).rss))),
      redis_rss_kib: redisPid === null ? null : memKiB(redisPid).rss,
      errors: hub.errors,
      rate_limited: hub.rateLimited,
      unexpected_closes: hub.unexpectedCloses,
      generator_behind: loop.behindResets,
      error_sample: hub.errorSamples[0] ?? null,
      processes_alive: f.pids().every(alive),
      load_avg_1m: loadavg()[0] ?? null, // other work on the machine shows here
    }
  } finally {
    loop.stop()
    closeAll(clients)
    stats?.disconnect()
  }
}

export interface ClusterArgs {
  targets: ClusterTarget[]
  reps: number
  opts: () => Opts
  kind: ClientKind
  logTag: string
  /** Fields every row carries (scenario, command, client, …); target, rep and ts are added here. */
  base: Row
}

/**
 * All targets in one run, the start target rotated on every repetition; one row per measurement. Returns the
 * problems seen (failed runs, loss, duplicates) as short lines.
 */
export async function runCluster(
  a: ClusterArgs,
  emit: (r: Row) => void,
  log: (line: string) => void,
): Promise<string[]> {
  const problems: string[] = []
  for (let rep = 0; rep < a.reps; rep++) {
    const k = rep % a.targets.length
    const order = [...a.targets.slice(k), ...a.targets.slice(0, k)]
    for (const target of order) {
      const base: Row = { ...a.base, target, rep, ts: new Date().toISOString() }
      const t0 = performance.now()
      let row: Row
      try {
        const fleet = await startFleet(target, a.kind, `${a.logTag}-${rep}`)
        try {
          row = { ...base, ...(await clusterFanout(fleet, a.opts())) }
        } finally {
          await stopFleet(fleet)
        }
        if (!row.delivered_per_s) problems.push(`cluster/${target}: zero deliveries`)
        else if (row.clients_short || row.clients_extra || row.loss_pct)
          problems.push(
            `cluster/${target} rep ${rep}: loss ${row.loss_pct} %, ${row.clients_short} client(s) short (by node ${row.clients_short_by_node}), ${row.clients_extra} with extra deliveries`,
          )
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e)
        row = { ...base, failed: true, error: msg.slice(0, 2000) }
        problems.push(`cluster/${target}: ${msg.slice(0, 300)}`)
      }
      emit(row)
      const keys = [
        'error',
        'delivered_per_s',
        'loss_pct',
        'clients_short',
        'p50_ms',
        'p99_ms',
        'server_cpu_pct',
        'node_cpu_pct',
        'redis_cpu_pct',
        'cpu_us_per_delivery',
        'gen_cpu_pct',
        'redis_calls_per_msg',
      ]
      log(
        `cluster rep ${rep} ${target} (${((performance.now() - t0) / 1000).toFixed(1)} s): ${keys
          .filter((x) => row[x] !== undefined && row[x] !== null)
          .map((x) => `${x}=${row[x]}`)
          .join(' ')}`,
      )
      Bun.gc(true)
    }
  }
  return problems
}

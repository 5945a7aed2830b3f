// The scenarios. Each returns plain rows (one JSON line each); run.ts starts and stops the servers.
import { type Client, Hub, nowUs } from './clients'
import { closeAll, connectAll, joinAll, makeClients, OpenLoop } from './load'
import { cpuSeconds, memKiB } from './proc'
import { sleep, waitFor } from './stats'
import type { Running } from './targets'

export type Row = Record<string, string | number | boolean | null>
export interface Opts {
  smoke: boolean
  duration: number // seconds of measurement per window
  tag: string // unique per server run: room and user names
  tick: number // open-loop timer period, ms
}
/** Runs `fn` against a freshly started server and stops it afterwards (also on error). */
export type WithServer = <T>(fn: (rt: Running) => Promise<T>) => Promise<T>

const r2 = (x: number) => Math.round(x * 100) / 100

/** The fanout load: one room of 100 clients (20 in a smoke run), each sending 8 messages per second. */
export const fanoutLoad = (smoke: boolean) => ({ rooms: 1, perRoom: smoke ? 20 : 100, rate: 8 })

async function makeRooms(
  rt: Running,
  tag: string,
  from: number,
  n: number,
  maxUsers: number,
): Promise<string[]> {
  const ids: string[] = []
  for (let i = from; i < from + n; i++) ids.push(await rt.createRoom(`bench-${tag}-${i}`, maxUsers))
  return ids
}

/** Measure one window of `durS` seconds while the open loop runs; then wait (≤ 2 s) for late deliveries. */
async function window(hub: Hub, pid: number, durS: number): Promise<Row> {
  const t0 = nowUs()
  const c0 = cpuSeconds(pid)
  const g0 = process.cpuUsage()
  hub.openWindow(t0, t0 + durS * 1e6)
  let peak = 0
  const end = performance.now() + durS * 1000
  while (performance.now() < end) {
    peak = Math.max(peak, memKiB(pid).rss)
    await sleep(Math.min(250, Math.max(1, end - performance.now())))
  }
  const wall = (nowUs() - t0) / 1e6
  const c1 = cpuSeconds(pid)
  const g = process.cpuUsage(g0)
  await waitFor(() => hub.delivered >= hub.expected, 2000, 10)
  const h = hub.hist
  return {
    expected_per_s: Math.round(hub.expected / durS),
    delivered_per_s: Math.round(hub.delivered / durS),
    loss_pct: hub.expected
      ? r2((100 * (hub.expected - Math.min(hub.delivered, hub.expected))) / hub.expected)
      : null,
    p50_ms: h.quantileMs(0.5),
    p95_ms: h.quantileMs(0.95),
    p99_ms: h.quantileMs(0.99),
    max_ms: h.max / 1000,
    server_cpu_pct: r2((100 * (c1 - c0)) / wall),
    gen_cpu_pct: r2((100 * (g.user + g.system)) / 1e6 / wall),
    rss_peak_kib: Math.max(peak, memKiB(pid).rss),
  }
}

function health(hub: Hub, loop: OpenLoop | null): Row {
  return {
    errors: hub.errors,
    rate_limited: hub.rateLimited,
    unexpected_closes: hub.unexpectedCloses,
    generator_behind: loop?.behindResets ?? 0,
    error_sample: hub.errorSamples[0] ?? null,
  }
}

/** fanout and rooms: `rooms` × `perRoom` clients at `rate` msg/s each. */
export async function steady(
  rt: Running,
  o: Opts,
  rooms: number,
  perRoom: number,
  rate: number,
): Promise<Row> {
  const hub = new Hub()
  const pid = rt.serverPid
  await sleep(300)
  const rssIdle = memKiB(pid).rss
  const clients = makeClients(0, rooms * perRoom, o.tag)
  const ids = await makeRooms(rt, o.tag, 0, rooms, perRoom + 10)
  clients.forEach((c, i) => {
    c.room = ids[i % rooms] ?? ''
  })
  const loop = new OpenLoop(hub, rate, o.tick)
  try {
    const connected = await connectAll(hub, rt, clients, 200, 60_000)
    const allJoined = await joinAll(hub, clients, 60_000)
    const rssJoined = memKiB(pid).rss
    loop.setClients(clients)
    loop.start()
    await sleep(o.smoke ? 300 : 1000)
    const w = await window(hub, pid, o.duration)
    loop.stop()
    return {
      clients: clients.length,
      connected,
      joined: hub.joinedCount,
      all_joined: allJoined,
      offered_per_s: rooms * perRoom * perRoom * rate,
      ...w,
      rss_idle_kib: rssIdle,
      rss_joined_kib: rssJoined,
      rss_hwm_kib: memKiB(pid).hwm,
      ...health(hub, loop),
    }
  } finally {
    loop.stop()
    closeAll(clients)
  }
}

/** ramp: add rooms of `perRoom` clients at 8 msg/s until p99 ≥ 50 ms or loss > 0.1 % (in two windows in a row). */
export async function ramp(rt: Running, o: Opts, onStep: (r: Row) => void): Promise<Row> {
  const perRoom = o.smoke ? 10 : 50
  const rate = 8
  const steps = o.smoke ? [1, 2] : [1, 2, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 160, 200]
  const hub = new Hub()
  const loop = new OpenLoop(hub, rate, o.tick)
  const clients: Client[] = []
  const deadline = performance.now() + (o.smoke ? 30_000 : 240_000)
  let best: Row | null = null
  let stopReason = 'all steps passed'
  let lastStep = 0
  try {
    for (const rooms of steps) {
      if (performance.now() > deadline) {
        stopReason = 'time bound reached'
        break
      }
      const have = clients.length / perRoom
      const ids = await makeRooms(rt, o.tag, have, rooms - have, perRoom + 10)
      const fresh = makeClients(clients.length, (rooms - have) * perRoom, o.tag)
      fresh.forEach((c, i) => {
        c.room = ids[i % ids.length] ?? ''
      })
      clients.push(...fresh)
      const connected = await connectAll(hub, rt, fresh, 200, 60_000)
      const joined = await joinAll(hub, fresh, 60_000)
      loop.setClients(clients)
      loop.start()
      await sleep(o.smoke ? 300 : 1000)
      const winS = o.smoke ? o.duration : Math.min(o.duration, 3)
      const ok = (x: Row) => (x.p99_ms as number) < 50 && (x.loss_pct as number) <= 0.1
      let w = await window(hub, rt.serverPid, winS)
      // one transient stall (a GC pause in either process) should not end the ramp: a step fails only if a second window fails too
      let windows = 1
      if (!ok(w) && joined) {
        windows = 2
        const w2 = await window(hub, rt.serverPid, winS)
        if (ok(w2)) w = w2
      }
      const pass = connected === fresh.length && joined && ok(w)
      const row = {
        rooms,
        clients: clients.length,
        offered_per_s: rooms * perRoom * perRoom * rate,
        ...w,
        pass,
        windows,
        ...health(hub, loop),
      }
      onStep(row)
      lastStep = rooms
      if (!pass) {
        stopReason =
          !joined || connected !== fresh.length
            ? 'connect/join failed'
            : 'p99 ≥ 50 ms or loss > 0.1 %'
        break
      }
      best = row
    }
  } finally {
    loop.stop()
    closeAll(clients)
  }
  return {
    per_room: perRoom,
    last_step_rooms: lastStep,
    best_rooms: (best?.rooms as number) ?? 0,
    best_offered_per_s: (best?.offered_per_s as number) ?? 0,
    best_delivered_per_s: (best?.delivered_per_s as number) ?? 0,
    best_p99_ms: (best?.p99_ms as number) ?? null,
    best_server_cpu_pct: (best?.server_cpu_pct as number) ?? null,
    best_gen_cpu_pct: (best?.gen_cpu_pct as number) ?? null,
    stop_reason: stopReason,
  }
}

/** idle: N connections joined to `rooms` rooms, nobody talks. */
export async function idle(rt: Running, o: Opts): Promise<Row> {
  const n = o.smoke ? 200 : 10_000
  const rooms = o.smoke ? 4 : 100
  const hub = new Hub()
  const pid = rt.serverPid
  await sleep(500)
  const rssIdle = memKiB(pid).rss
  const ids = await makeRooms(rt, o.tag, 0, rooms, n / rooms + 10)
  const clients = makeClients(0, n, o.tag)
  clients.forEach((c, i) => {
    c.room = ids[i % rooms] ?? ''
  })
  try {
    const c0 = cpuSeconds(pid)
    const t0 = performance.now()
    const connected = await connectAll(hub, rt, clients, 256, 120_000, (c) =>
      c.conn?.join(c.room, c.username),
    )
    const tConnected = performance.now() - t0
    const allJoined = await waitFor(() => hub.joinedCount >= connected, 120_000, 5)
    const tJoined = performance.now() - t0
    const cpu = cpuSeconds(pid) - c0
    await sleep(o.smoke ? 500 : 2000)
    const rssAfter = memKiB(pid).rss
    return {
      connections: n,
      connected,
      joined: hub.joinedCount,
      all_joined: allJoined,
      connect_ms: Math.round(tConnected),
      connect_join_ms: Math.round(tJoined),
      server_cpu_s: r2(cpu),
      rss_idle_kib: rssIdle,
      rss_joined_kib: rssAfter,
      rss_hwm_kib: memKiB(pid).hwm,
      kib_per_conn: r2((rssAfter - rssIdle) / Math.max(1, connected)),
      ...health(hub, null),
    }
  } finally {
    closeAll(clients)
  }
}

/** join-storm: `size` connected clients send join to one room at once; every member's list is checked at the end. */
export async function joinStorm(rt: Running, o: Opts, size: number): Promise<Row> {
  const hub = new Hub()
  const pid = rt.serverPid
  const prefix = `b${o.tag}x`
  hub.track = {
    size,
    nameIndex: (name) => {
      if (!name.startsWith(prefix)) return -1
      const i = Number(name.slice(prefix.length))
      return Number.isInteger(i) && i >= 0 && i < size ? i : -1
    },
  }
  const [room] = await makeRooms(rt, o.tag, 0, 1, size + 10)
  const clients = makeClients(0, size, o.tag)
  for (const c of clients) c.room = room ?? ''
  try {
    const connected = await connectAll(hub, rt, clients, 200, 60_000)
    await sleep(300)
    const rssBefore = memKiB(pid).rss
    hub.framesIn = hub.bytesIn = 0
    const c0 = cpuSeconds(pid)
    const g0 = process.cpuUsage()
    const t0 = performance.now()
    for (const c of clients) c.conn?.join(c.room, c.username)
    // the poll only notices the end; the time is when the last client received its joined
    const allJoined = await waitFor(() => hub.joinedCount >= connected, 120_000, 2)
    const tJoined = hub.lastJoinedAt - t0
    // quiet: no frame for 300 ms (bounded), so late presence frames are counted too
    let frames = -1
    const quietEnd = performance.now() + (allJoined ? 60_000 : 10_000)
    while (frames !== hub.framesIn && performance.now() < quietEnd) {
      frames = hub.framesIn
      await sleep(300)
    }
    const cpu = cpuSeconds(pid) - c0
    const g = process.cpuUsage(g0)
    // clock stopped: now parse the recorded joined lists and presence frames and check every member's list
    const tCheck = performance.now()
    const completeAt = hub.replay(clients)
    const checkMs = performance.now() - tCheck
    const correct = clients.filter((c) => c.seenCount === size && c.unknownNames === 0).length
    return {
      size,
      connected,
      joined: hub.joinedCount,
      all_joined: allJoined,
      join_ms: allJoined ? Math.round(tJoined) : null,
      converge_ms: completeAt === null ? null : Math.round(completeAt - t0),
      lists_correct: correct,
      lists_ok: correct === size,
      frames_out: hub.framesIn,
      bytes_out: hub.bytesIn,
      quadratic_frames: (size * (size - 1)) / 2 + size,
      server_cpu_s: r2(cpu),
      gen_cpu_s: r2((g.user + g.system) / 1e6),
      check_ms: Math.round(checkMs),
      rss_before_kib: rssBefore,
      rss_after_kib: memKiB(pid).rss,
      ...health(hub, null),
    }
  } finally {
    closeAll(clients)
  }
}

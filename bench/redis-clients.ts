// Which Redis client survives what the cluster needs, and at what cost:
//   bun bench/redis-clients.ts [--runs N] [--count N] [--only behaviour|perf]
// Starts its own redis-server on a free loopback port (no persistence), restarts it with
// SIGKILL on the same port where a scenario needs it, and stops it by PID. Every wait and
// every load loop is bounded in count and time; the whole run stops itself after 10 minutes.
// Prints markdown tables (the source of docs/redis-clients.md).
import { cpus } from 'node:os'
import { cpuSeconds } from './lib/proc'
import {
  BUN_RESUBSCRIBE,
  CANDIDATES,
  type Candidate,
  type Link,
  type Mode,
} from './lib/redis-candidates'
import { RedisServer } from './lib/redis-server'
import { Histogram, median, minMax, sleep } from './lib/stats'

const RUN_LIMIT_MS = 10 * 60_000
/** How long a scenario waits for something that may never happen. */
const GIVE_UP_MS = 8000
const PAYLOAD = 'x'.repeat(200)
/** Longer than Bun.RedisClient's 20 default retries last (~31 s measured). */
const LONG_OUTAGE_MS = 40_000

function parseArgs(argv: string[]) {
  const a = { runs: 3, count: 20_000, behaviour: true, perf: true }
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i]
    const v = argv[i + 1]
    if (x === '--runs') a.runs = Math.max(1, Math.min(5, Number(v) || 3))
    else if (x === '--count') a.count = Math.max(1000, Math.min(50_000, Number(v) || 20_000))
    else if (x === '--only') {
      a.behaviour = v === 'behaviour'
      a.perf = v === 'perf'
    } else continue
    i++
  }
  return a
}

const redis = new RedisServer()

/** Opens a link on a fresh, empty Redis. */
async function fresh(c: Candidate, mode: Mode): Promise<Link> {
  await redis.stop()
  await redis.start()
  return c.open(redis.url, mode)
}

/** Settles within `ms` or gives 'timeout'; never throws. */
async function within<T>(p: Promise<T>, ms: number): Promise<T | Error | 'timeout'> {
  let timer: Timer | undefined
  const timeout = new Promise<'timeout'>((r) => {
    timer = setTimeout(() => r('timeout'), ms)
  })
  try {
    return await Promise.race([p.catch((e: unknown) => e as Error), timeout])
  } finally {
    clearTimeout(timer)
  }
}

const ms = (x: number) => `${Math.round(x)} ms`
const short = (e: Error) => `"${e.message.replace(/\s+/g, ' ').slice(0, 60)}"`

// (1) After SIGKILL + restart on the same port: is the subscription back, and when? Several
// clients can share one outage (each on its own channel), which keeps the long one short.
async function restartScenario(
  cs: Candidate[],
  mode: Mode,
  outageMs = 300,
): Promise<{ subAt: number; cmdAt: number }[]> {
  await redis.stop()
  await redis.start()
  const links: Link[] = []
  try {
    for (const c of cs) links.push(await c.open(redis.url, mode))
    const arrivals = cs.map(() => 0)
    for (const [i, link] of links.entries()) {
      await link.subscribe(`bench:room:${i}`, () => {
        arrivals[i] = performance.now()
      })
    }
    const end0 = performance.now() + 2000
    for (const [i, c] of cs.entries()) {
      while (arrivals[i] === 0 && performance.now() < end0) {
        await redis.command(['PUBLISH', `bench:room:${i}`, 'before'])
        await sleep(10)
      }
      if (arrivals[i] === 0) throw new Error(`${c.name}: not subscribed at start`)
    }
    await redis.stop()
    await sleep(outageMs)
    await redis.start()
    const t0 = performance.now()
    const watch = links.map(async (link, i) => {
      let subAt = -1
      let cmdAt = -1
      const probes = (async () => {
        while (performance.now() - t0 < GIVE_UP_MS && subAt < 0) {
          await redis.command(['PUBLISH', `bench:room:${i}`, 'after']).catch(() => 0)
          const at = arrivals[i] ?? 0
          if (at > t0) subAt = at - t0
          else await sleep(10)
        }
      })()
      const commands = (async () => {
        while (performance.now() - t0 < GIVE_UP_MS && cmdAt < 0) {
          const r = await within(link.incr('bench:alive'), 500)
          if (typeof r === 'number') cmdAt = performance.now() - t0
          else await sleep(20)
        }
      })()
      await Promise.all([probes, commands])
      return { subAt, cmdAt }
    })
    return await Promise.all(watch)
  } finally {
    for (const link of links) await link.close()
  }
}

/** "12 / 80 / 35 ms" over the repetitions, or how many never came back. */
function times(xs: number[], what: string): string {
  const ok = xs.filter((x) => x >= 0)
  const never = xs.length - ok.length
  if (ok.length === 0) return `NOT ${what} in ${GIVE_UP_MS / 1000} s (${never} of ${never})`
  const list = `${ok.map((x) => Math.round(x)).join(' / ')} ms`
  return never > 0 ? `${list}; not in ${GIVE_UP_MS / 1000} s ${never} of ${xs.length} times` : list
}

interface Outcome {
  state: 'pending' | 'resolved' | 'rejected'
  at: number
  error?: Error
}

function track(p: Promise<unknown>): Outcome {
  const o: Outcome = { state: 'pending', at: 0 }
  p.then(
    () => Object.assign(o, { state: 'resolved', at: performance.now() }),
    (e: Error) => Object.assign(o, { state: 'rejected', at: performance.now(), error: e }),
  )
  return o
}

/** Waits until `o` settles or `limitMs` passes, then says what happened and whether it ran. */
async function verdict(o: Outcome, t0: number, restartAt: number, key: string) {
  const end = performance.now() + 5000
  while (o.state === 'pending' && performance.now() < end) await sleep(10)
  const ran = (await redis.command(['GET', key])) === '1' ? 'ran' : 'did not run'
  if (o.state === 'pending') return `hangs (>5 s after restart), ${ran}`
  const error = o.error ? ` ${short(o.error)}` : ''
  if (o.at < restartAt) {
    const when = o.at - t0 < 50 ? 'at once' : `after ${ms(o.at - t0)}`
    return `${o.state} ${when}${error}, ${ran}`
  }
  return `waited; ${o.state} ${ms(o.at - restartAt)} after restart${error}, ${ran}`
}

// (2a) A command issued while Redis is down (the client has seen the connection drop).
async function offlineScenario(c: Candidate, mode: Mode) {
  const link = await fresh(c, mode)
  try {
    await link.incr('bench:warm')
    await redis.stop()
    await sleep(300)
    const t0 = performance.now()
    const o = track(link.incr('bench:offline'))
    await sleep(1000)
    await redis.start()
    return await verdict(o, t0, performance.now(), 'bench:offline')
  } finally {
    await link.close()
  }
}

// (2b) A command written to the socket but unanswered when Redis dies (DEBUG SLEEP holds it):
// re-sending it after reconnect means a command that did run would run twice.
async function inFlightScenario(c: Candidate, mode: Mode) {
  const link = await fresh(c, mode)
  try {
    await link.incr('bench:warm')
    await redis.command(['DEBUG', 'SLEEP', '3'], false)
    await sleep(100)
    const o = track(link.incr('bench:inflight'))
    await sleep(150)
    const t0 = performance.now()
    await redis.stop()
    await sleep(700)
    await redis.start()
    return await verdict(o, t0, performance.now(), 'bench:inflight')
  } finally {
    await link.close()
  }
}

/** `INFO` field counts such as calls=3 of cmdstat_evalsha. */
async function infoCount(section: string, field: string): Promise<number> {
  const text = String(await redis.command(['INFO', section]))
  return Number(new RegExp(`^${field}:(?:count|calls)=(\\d+)`, 'm').exec(text)?.[1] ?? 0)
}

// (3) EVALSHA with an automatic EVAL fallback: first call, after SCRIPT FLUSH, after a restart.
async function scriptScenario(c: Candidate) {
  const link = await fresh(c, 'failfast')
  const keys: [string, string, string] = ['{r}:seq', '{r}:hist', 'bench:r']
  const attempt = async () => {
    const r = await within(link.script(keys, 'hello'), 2000)
    return typeof r === 'number' ? `ok (${r})` : r === 'timeout' ? 'hangs' : `fails ${short(r)}`
  }
  try {
    const first = await attempt()
    await redis.command(['SCRIPT', 'FLUSH'])
    const flushed = await attempt()
    const seen = `EVALSHA ${await infoCount('commandstats', 'cmdstat_evalsha')}, EVAL ${await infoCount('commandstats', 'cmdstat_eval')}, NOSCRIPT ${await infoCount('errorstats', 'errorstat_NOSCRIPT')}`
    await redis.stop()
    await sleep(300)
    await redis.start()
    // The command connection needs a moment to come back; count only the first answer after it.
    let restarted = 'not back in 8 s'
    const end = performance.now() + GIVE_UP_MS
    while (performance.now() < end) {
      const r = await within(link.script(keys, 'hello'), 2000)
      if (typeof r === 'number') {
        restarted = `ok (${r})`
        break
      }
      if (r instanceof Error && /NOSCRIPT|script/i.test(r.message)) {
        restarted = `fails ${short(r)}`
        break
      }
      await sleep(50)
    }
    return { first, flushed, seen, restarted }
  } finally {
    await link.close()
  }
}

interface Perf {
  seqRate: number
  seqCpuUs: number
  pipeRate: number
  pipeCpuUs: number
  recvRate: number
  recvCpuUs: number
  delivered: number
  sent: number
  redisCpuUs: number
  p50: number
  p99: number
}

/** CPU of this process (µs) and of redis-server (µs) per unit, and units per second. */
async function measure(body: (deadline: number) => Promise<number>) {
  const c0 = process.cpuUsage()
  const r0 = cpuSeconds(redis.pid)
  const t0 = performance.now()
  const n = await body(t0 + 30_000)
  const wall = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(c0)
  return {
    n,
    rate: n / wall,
    cpuUs: (cpu.user + cpu.system) / Math.max(1, n),
    redisUs: ((cpuSeconds(redis.pid) - r0) * 1e6) / Math.max(1, n),
  }
}

/** `count` PUBLISHes written by `redis-cli --pipe`, a separate process, so that this one only receives. */
async function blast(channel: string, count: number): Promise<void> {
  const one = `*3\r\n$7\r\nPUBLISH\r\n$${channel.length}\r\n${channel}\r\n$${PAYLOAD.length}\r\n${PAYLOAD}\r\n`
  const proc = Bun.spawn(['redis-cli', '-p', String(redis.port), '--pipe'], {
    stdin: new TextEncoder().encode(one.repeat(count)),
    stdout: 'ignore',
    stderr: 'ignore',
  })
  const exited = await Promise.race([proc.exited, sleep(30_000).then(() => 'timeout')])
  if (exited === 'timeout') proc.kill('SIGKILL')
}

// (4) PUBLISH throughput (sequential, then 1000 in flight), the subscriber's cost per message
// received, and the message script's round trip. No subscriber while publishing, no
// publisher in this process while receiving: each figure is one side's cost.
async function perfScenario(c: Candidate, count: number): Promise<Perf> {
  const link = await fresh(c, 'failfast')
  try {
    for (let i = 0; i < 2000; i++) await link.publish('bench:perf', PAYLOAD)
    const seq = await measure(async (deadline) => {
      let n = 0
      for (; n < count && performance.now() < deadline; n++)
        await link.publish('bench:perf', PAYLOAD)
      return n
    })
    const pipe = await measure(async (deadline) => {
      let n = 0
      while (n < count && performance.now() < deadline) {
        const batch: Promise<number>[] = []
        for (let i = 0; i < 1000 && n < count; i++, n++)
          batch.push(link.publish('bench:perf', PAYLOAD))
        await Promise.all(batch)
      }
      return n
    })
    let received = 0
    await link.subscribe('bench:recv', () => {
      received++
    })
    await blast('bench:recv', 1000)
    const warm = performance.now() + 10_000
    while (received < 1000 && performance.now() < warm) await sleep(10)
    received = 0
    const recv = await measure(async () => {
      const t0 = performance.now()
      await blast('bench:recv', count)
      while (received < count && performance.now() < t0 + 15_000) await sleep(5)
      return received
    })
    const h = new Histogram()
    const keys: [string, string, string] = ['{p}:seq', '{p}:hist', 'bench:p']
    for (let i = 0; i < 1000; i++) await link.script(keys, PAYLOAD)
    const deadline = performance.now() + 30_000
    for (let i = 0; i < 5000 && performance.now() < deadline; i++) {
      const t = performance.now()
      await link.script(keys, PAYLOAD)
      h.add((performance.now() - t) * 1000)
    }
    return {
      seqRate: seq.rate,
      seqCpuUs: seq.cpuUs,
      pipeRate: pipe.rate,
      pipeCpuUs: pipe.cpuUs,
      recvRate: recv.rate,
      recvCpuUs: recv.cpuUs,
      delivered: received,
      sent: count,
      redisCpuUs: (seq.redisUs + pipe.redisUs) / 2,
      p50: h.quantileMs(0.5),
      p99: h.quantileMs(0.99),
    }
  } finally {
    await link.close()
  }
}

function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n')
}

async function machine(): Promise<string> {
  const info = String(await redis.command(['INFO', 'server']))
  const redisVersion = /^redis_version:(.+)$/m.exec(info)?.[1]?.trim() ?? '?'
  const cpu = cpus()
  const kernel = (await Bun.file('/proc/sys/kernel/osrelease').text()).trim()
  const versions = CANDIDATES.map((c) => `${c.name} ${c.version}`).join(', ')
  return [
    `Machine: ${cpu.length} × ${cpu[0]?.model.trim() ?? '?'}, Linux ${kernel}, shared with other work.`,
    `Bun ${Bun.version}; redis-server ${redisVersion} (Debian, --save "" --appendonly no, loopback); ${versions}.`,
  ].join('\n')
}

async function main() {
  const args = parseArgs(process.argv.slice(2))
  await redis.start()
  console.log(`${await machine()}\n`)

  if (args.behaviour) {
    const rows: string[][] = []
    for (const c of [...CANDIDATES, BUN_RESUBSCRIBE]) {
      const modes: Mode[] = c === BUN_RESUBSCRIBE ? ['default'] : ['default', 'failfast']
      for (const mode of modes) {
        const reps: { subAt: number; cmdAt: number }[] = []
        for (let i = 0; i < args.runs; i++) reps.push(...(await restartScenario([c], mode)))
        const resubOnly = c === BUN_RESUBSCRIBE
        rows.push([
          c.name,
          `${mode}: ${c.settings[mode]}`,
          times(
            reps.map((r) => r.subAt),
            'restored',
          ),
          times(
            reps.map((r) => r.cmdAt),
            'back',
          ),
          resubOnly ? '(as above)' : await offlineScenario(c, mode),
          resubOnly ? '(as above)' : await inFlightScenario(c, mode),
        ])
        console.error(`behaviour: ${c.name} ${mode} done`)
      }
    }
    console.log('### Redis restarted, Redis down\n')
    console.log(
      table(
        [
          'client',
          'settings',
          '(1) subscription restored, ms after the restart (each run)',
          'commands work again, ms after the restart',
          '(2) INCR issued while Redis is down (1.3 s outage)',
          '(2) INCR in flight when Redis is killed',
        ],
        rows,
      ),
    )
    const longRows: string[][] = []
    const long = await restartScenario(CANDIDATES, 'failfast', LONG_OUTAGE_MS)
    for (const [i, c] of CANDIDATES.entries()) {
      const r = long[i] ?? { subAt: -1, cmdAt: -1 }
      longRows.push([c.name, times([r.subAt], 'restored'), times([r.cmdAt], 'back')])
    }
    console.log(`\n### (1) After a ${LONG_OUTAGE_MS / 1000} s outage (fail-fast settings)\n`)
    console.log(
      table(['client', 'subscription restored after', 'commands work again after'], longRows),
    )
    const scriptRows: string[][] = []
    for (const c of CANDIDATES) {
      const r = await scriptScenario(c)
      scriptRows.push([c.name, c.scripts, r.first, r.flushed, r.seen, r.restarted])
    }
    console.log('\n### (3) Scripts: EVALSHA with EVAL fallback\n')
    console.log(
      table(
        [
          'client',
          'how',
          'first call (not loaded)',
          'after SCRIPT FLUSH',
          'Redis saw (so far)',
          'after restart',
        ],
        scriptRows,
      ),
    )
  }

  if (args.perf) {
    const results = new Map<string, Perf[]>()
    for (let run = 0; run < args.runs; run++) {
      // Rotate the order so that no client always runs first (or last) on a shared machine.
      const order = CANDIDATES.map((_, i) => CANDIDATES[(i + run) % CANDIDATES.length] as Candidate)
      for (const c of order) {
        const p = await perfScenario(c, args.count)
        results.set(c.name, [...(results.get(c.name) ?? []), p])
        console.error(`perf run ${run + 1}: ${c.name} ${Math.round(p.seqRate)}/s seq`)
      }
    }
    const rows = CANDIDATES.map((c) => {
      const ps = results.get(c.name) ?? []
      const fmt = (f: (p: Perf) => number, d = 0) => {
        const xs = ps.map(f)
        const [lo, hi] = minMax(xs)
        const m = median(xs).toFixed(d)
        return ps.length > 1 ? `${m} (${lo.toFixed(d)}–${hi.toFixed(d)})` : m
      }
      return [
        c.name,
        fmt((p) => p.seqRate),
        fmt((p) => p.seqCpuUs, 1),
        fmt((p) => p.pipeRate),
        fmt((p) => p.pipeCpuUs, 1),
        fmt((p) => p.redisCpuUs, 1),
        fmt((p) => p.recvCpuUs, 1),
        ps.map((p) => `${p.delivered}/${p.sent}`).join(', '),
        fmt((p) => p.p50 * 1000),
        fmt((p) => p.p99 * 1000),
      ]
    })
    console.log(
      `\n### (4) Cost: PUBLISH of 200 bytes, ${args.count} sequential and ${args.count} with 1000 in flight; the same number received; 5000 sequential EVALSHA of the message script. Median (min–max) of ${args.runs} runs\n`,
    )
    console.log(
      table(
        [
          'client',
          'sequential PUBLISH/s',
          'client CPU µs/publish',
          'pipelined PUBLISH/s',
          'client CPU µs/publish',
          'redis CPU µs/publish',
          'client CPU µs/message received',
          'received',
          'EVALSHA p50 µs',
          'EVALSHA p99 µs',
        ],
        rows,
      ),
    )
    console.log(
      '\nClient CPU is this process only (user + system); the publisher for the receive figure is `redis-cli --pipe`, another process. Redis CPU per publish is the mean of the two publish phases.',
    )
  }
}

const watchdog = setTimeout(() => {
  console.error(`gave up after ${RUN_LIMIT_MS / 60_000} minutes`)
  void redis.stop().then(() => process.exit(2))
}, RUN_LIMIT_MS)
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => void redis.stop().then(() => process.exit(130)))
}

try {
  await main()
} finally {
  clearTimeout(watchdog)
  await redis.stop('SIGTERM')
}
process.exit(0)

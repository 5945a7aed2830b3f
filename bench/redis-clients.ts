// Which Redis client survives what the cluster needs, and at what cost:
//   bun bench/redis-clients.ts [--runs N] [--count N] [--only behaviour|perf]
// Starts its own redis-server on a free loopback port (no persistence), restarts it with
// SIGKILL on the same port where a scenario needs it, and stops it by PID. Every wait and
// every load loop is bounded in count and time; the whole run stops itself after 10 minutes.
// Prints markdown tables (the source of docs/redis-clients.md).
import { cpus } from 'node:os'
import {
  inFlightScenario,
  offlineScenario,
  restartScenario,
  scriptScenario,
  times,
} from './lib/redis-behaviour'
import { BUN_RESUBSCRIBE, CANDIDATES, type Candidate, type Mode } from './lib/redis-candidates'
import { type Perf, perfScenario } from './lib/redis-cost'
import { RedisServer } from './lib/redis-server'
import { median, minMax } from './lib/stats'

const RUN_LIMIT_MS = 10 * 60_000
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
        for (let i = 0; i < args.runs; i++) reps.push(...(await restartScenario(redis, [c], mode)))
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
          resubOnly ? '(as above)' : await offlineScenario(redis, c, mode),
          resubOnly ? '(as above)' : await inFlightScenario(redis, c, mode),
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
    const long = await restartScenario(redis, CANDIDATES, 'failfast', LONG_OUTAGE_MS)
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
      const r = await scriptScenario(redis, c)
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
        const p = await perfScenario(redis, c, args.count)
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

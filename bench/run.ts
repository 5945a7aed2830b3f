// Benchmark entry: bun bench/run.ts <scenario|all> [--targets project,bun,node-ws,socketio] [--reps N] [--duration S]
//                  (cluster's own targets: one-node,two-nodes,socketio-redis; see bench/lib/cluster.ts)
//                  [--smoke] [--client raw|bunws] [--tick MS] [--no-docs] [--steps 1000,5000,…]
//                  [--server-env KEY=VALUE]… (extra environment for the servers, e.g. BUN_OPTIONS=--smol)
//        bun bench/run.ts report <results.jsonl>...   (rebuild docs from result files)
// Loopback only; every server is started fresh per measurement and stopped by pid; raw rows go to bench/results/*.jsonl.
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { capacity } from './lib/capacity'
import type { ClientKind } from './lib/clients'
import { CLUSTER_TARGETS, type ClusterTarget, isClusterTarget, runCluster } from './lib/cluster'
import { writeReport } from './lib/report'
import {
  fanoutLoad,
  idle,
  joinStorm,
  type Opts,
  type Row,
  ramp,
  steady,
  type WithServer,
} from './lib/scenarios'
import {
  ALL_TARGETS,
  DEFS,
  RESULTS,
  type Running,
  startTarget,
  stopTarget,
  type TargetName,
} from './lib/targets'

export const SCENARIOS = [
  'fanout',
  'rooms',
  'ramp',
  'idle',
  'join-storm',
  'cluster',
  'capacity',
] as const
/** capacity speaks the JSON protocol through raw clients, and reads the heap through the Bun targets' probe. */
const CAPACITY_TARGETS: TargetName[] = ['project', 'bun']
type Scenario = (typeof SCENARIOS)[number]

function parseArgs(argv: string[]) {
  const a = {
    scenarios: [] as Scenario[],
    targets: [...ALL_TARGETS] as TargetName[],
    clusterTargets: [...CLUSTER_TARGETS] as ClusterTarget[], // the cluster scenario's own targets
    reps: 3,
    duration: 5,
    smoke: false,
    kind: 'raw' as ClientKind,
    docs: true,
    tick: 10,
    steps: undefined as number[] | undefined,
    serverEnv: {} as Record<string, string>,
  }
  const rest = [...argv]
  let durationSet = false
  let repsSet = false
  let targetsSet = false
  let clusterSet = false
  for (let x = rest.shift(); x !== undefined; x = rest.shift()) {
    if (x === '--smoke') a.smoke = true
    else if (x === '--no-docs') a.docs = false
    else if (x === '--reps') {
      a.reps = Math.max(1, Math.min(20, Number(rest.shift())))
      repsSet = true
    } else if (x === '--duration') {
      a.duration = Math.max(0.5, Math.min(120, Number(rest.shift())))
      durationSet = true
    } else if (x === '--tick') a.tick = Math.max(1, Math.min(100, Number(rest.shift())))
    else if (x === '--steps')
      a.steps = String(rest.shift())
        .split(',')
        .map(Number)
        .filter((n) => Number.isInteger(n) && n >= 100 && n <= 1_000_000)
        .sort((p, q) => p - q)
    else if (x === '--server-env') {
      const kv = String(rest.shift())
      const i = kv.indexOf('=')
      if (i > 0) a.serverEnv[kv.slice(0, i)] = kv.slice(i + 1)
    } else if (x === '--client') a.kind = rest.shift() === 'bunws' ? 'bunws' : 'raw'
    else if (x === '--targets') {
      const list = String(rest.shift()).split(',')
      a.targets = list.filter((t): t is TargetName => t in DEFS)
      const cluster = list.filter(isClusterTarget)
      if (cluster.length) a.clusterTargets = cluster
      clusterSet = cluster.length > 0
      targetsSet = true
    } else if (x === 'all') a.scenarios.push(...SCENARIOS)
    else if ((SCENARIOS as readonly string[]).includes(x)) a.scenarios.push(x as Scenario)
    else
      throw new Error(
        `unknown argument ${x}; usage: bun bench/run.ts <${SCENARIOS.join('|')}|all> [--targets a,b] [--reps N] [--duration S] [--smoke] [--client raw|bunws] [--tick MS] [--steps N,N,…] [--server-env K=V]`,
      )
  }
  if (a.scenarios.length === 0) a.scenarios.push(...SCENARIOS)
  if (a.smoke) {
    if (!targetsSet) a.targets = ['project']
    if (!clusterSet) a.clusterTargets = ['two-nodes']
    if (!repsSet) a.reps = 1
    if (!durationSet) a.duration = 1
    a.docs = false
  }
  if (a.targets.length === 0 && !a.scenarios.every((s) => s === 'cluster'))
    throw new Error('no valid target in --targets')
  return { ...a, targetsSet }
}

const tag = () => Math.random().toString(36).slice(2, 6)

/** `report a.jsonl b.jsonl …`: rebuild tables, charts and docs from result files; a later file's rows replace
 *  an earlier file's rows of the same scenario (so a re-run of one scenario can be merged into a full run). */
function reportFrom(files: string[]): number {
  const byScenario = new Map<string, Row[]>()
  const commands: string[] = []
  for (const f of files) {
    const rows = readFileSync(f, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Row)
    const fresh = new Map<string, Row[]>()
    for (const r of rows) {
      const key = String(r.scenario).replace(/-step$/, '')
      const list = fresh.get(key)
      if (list) list.push(r)
      else fresh.set(key, [r])
    }
    for (const [k, v] of fresh) byScenario.set(k, v)
    commands.push(String(rows[0]?.command ?? f))
  }
  writeReport([...byScenario.values()].flat(), {
    command: commands.join(' + '),
    docs: true,
    print: true,
  })
  return 0
}

async function main(): Promise<number> {
  if (process.argv[2] === 'report') return reportFrom(process.argv.slice(3))
  const args = parseArgs(process.argv.slice(2))
  mkdirSync(RESULTS, { recursive: true })
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  const file = join(RESULTS, `${stamp}${args.smoke ? '-smoke' : ''}.jsonl`)
  const command = `bun bench/run.ts ${process.argv.slice(2).join(' ')}`.trim()
  const rows: Row[] = []
  const failures: string[] = []
  const emit = (r: Row) => {
    rows.push(r)
    appendFileSync(file, `${JSON.stringify(r)}\n`)
  }
  console.log(`results → ${file}`)

  for (const scenario of args.scenarios) {
    if (scenario === 'cluster') {
      const base: Row = {
        scenario,
        command,
        client: args.kind,
        tick_ms: args.tick,
        smoke: args.smoke,
      }
      const opts = (): Opts => ({
        smoke: args.smoke,
        duration: args.duration,
        tag: tag(),
        tick: args.tick,
      })
      failures.push(
        ...(await runCluster(
          {
            targets: args.clusterTargets,
            reps: args.reps,
            opts,
            kind: args.kind,
            logTag: `${stamp}-cluster`,
            base,
          },
          emit,
          console.log,
        )),
      )
      continue
    }
    for (let rep = 0; rep < args.reps; rep++) {
      // rotate the start target by rep: order[i] = targets[(i + rep) % n]
      const targets =
        scenario === 'capacity'
          ? args.targetsSet
            ? args.targets.filter((t) => DEFS[t].proto === 'json')
            : CAPACITY_TARGETS.filter((t) => args.targets.includes(t))
          : args.targets
      const k = rep % Math.max(1, targets.length)
      const order = [...targets.slice(k), ...targets.slice(0, k)]
      for (const target of order) {
        const base: Row = {
          scenario,
          target,
          rep,
          command,
          client: args.kind,
          tick_ms: args.tick,
          smoke: args.smoke,
          ts: new Date().toISOString(),
        }
        const env = Object.entries(args.serverEnv)
        if (env.length) base.server_env = env.map(([k, v]) => `${k}=${v}`).join(' ')
        const withServer: WithServer = async (fn) => {
          const rt: Running = await startTarget(target, args.kind, `${stamp}-${scenario}-${rep}`, {
            probe: scenario === 'capacity',
            env: args.serverEnv,
          })
          base.server_pid_is_wrapper = rt.serverPid === rt.wrapperPid
          try {
            return await fn(rt)
          } finally {
            await stopTarget(rt)
          }
        }
        const o: Opts = { smoke: args.smoke, duration: args.duration, tag: tag(), tick: args.tick }
        const t0 = performance.now()
        try {
          if (scenario === 'fanout' || scenario === 'rooms') {
            const f = fanoutLoad(args.smoke)
            const [rooms, per, rate] =
              scenario === 'fanout'
                ? [f.rooms, f.perRoom, f.rate]
                : args.smoke
                  ? [5, 5, 5]
                  : [100, 10, 5]
            const r = await withServer((rt) => steady(rt, o, rooms, per, rate))
            emit({ ...base, ...r })
            if (!r.delivered_per_s) failures.push(`${scenario}/${target}: zero deliveries`)
          } else if (scenario === 'ramp') {
            const r = await withServer((rt) =>
              ramp(rt, o, (s) => emit({ ...base, scenario: 'ramp-step', ...s })),
            )
            emit({ ...base, ...r })
            if (!r.best_rooms) failures.push(`ramp/${target}: no step passed`)
          } else if (scenario === 'capacity') {
            const r = await withServer((rt) =>
              capacity(rt, { ...o, steps: args.steps }, (s) =>
                emit({ ...base, scenario: 'capacity-step', ...s }),
              ),
            )
            emit({ ...base, ...r })
            if (!r.all_passed) failures.push(`capacity/${target}: ${r.stop_reason}`)
          } else if (scenario === 'idle') {
            const r = await withServer((rt) => idle(rt, o))
            emit({ ...base, ...r })
            if (!r.all_joined) failures.push(`idle/${target}: not all joined`)
          } else {
            for (const size of args.smoke ? [50, 100] : [500, 1000, 2000]) {
              const r = await withServer((rt) => joinStorm(rt, { ...o, tag: tag() }, size))
              emit({ ...base, ...r })
              if (!r.lists_ok)
                failures.push(
                  `join-storm/${target}/${size}: ${r.lists_correct}/${size} member lists correct`,
                )
            }
          }
        } catch (e) {
          const msg = e instanceof Error ? e.message : String(e)
          emit({ ...base, failed: true, error: msg.slice(0, 2000) })
          failures.push(`${scenario}/${target}: ${msg.slice(0, 300)}`)
        }
        const last = rows[rows.length - 1] ?? base
        console.log(
          `${scenario} rep ${rep} ${target} (${((performance.now() - t0) / 1000).toFixed(1)} s): ${brief(last)}`,
        )
        Bun.gc(true)
      }
    }
  }
  writeReport(rows, { command, docs: args.docs, print: true })
  if (failures.length) {
    console.log(`\nproblems:\n- ${failures.join('\n- ')}`)
  }
  // smoke: fail when the project does not work at all; full runs report problems without failing
  const projectBroken = failures.some(
    (f) => f.includes('/project') || f.startsWith('cluster/two-nodes'),
  )
  return args.smoke && projectBroken ? 1 : 0
}

function brief(r: Row): string {
  const keys = [
    'error',
    'delivered_per_s',
    'expected_per_s',
    'loss_pct',
    'p50_ms',
    'p99_ms',
    'server_cpu_pct',
    'gen_cpu_pct',
    'best_offered_per_s',
    'stop_reason',
    'connect_join_ms',
    'kib_per_conn',
    'max_connections',
    'slope_kib_per_conn',
    'extrapolated_rss_100k_mib',
    'top_p99_ms',
    'size',
    'join_ms',
    'converge_ms',
    'lists_correct',
    'frames_out',
    'server_cpu_s',
    'gen_cpu_s',
    'check_ms',
    'errors',
    'unexpected_closes',
    'generator_behind',
  ]
  return keys
    .filter((k) => r[k] !== undefined && r[k] !== null)
    .map((k) => `${k}=${r[k]}`)
    .join(' ')
}

if (import.meta.main) {
  main().then(
    (code) => process.exit(code),
    (e) => {
      console.error(e)
      process.exit(2)
    },
  )
}

// The cluster scenario's table, its check of the issue's targets, and its chart (docs/bench-cluster.svg).
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { CLUSTER_DEFS, type ClusterTarget, isClusterTarget } from './cluster'
import type { Row } from './scenarios'
import { median, minMax } from './stats'
import { barChart } from './svg'
import { REPO } from './targets'

const num = (r: Row, k: string) => (typeof r[k] === 'number' ? (r[k] as number) : Number.NaN)
const fmt = (v: number) =>
  !Number.isFinite(v)
    ? '–'
    : Math.abs(v) >= 100
      ? Math.round(v).toLocaleString('en-US')
      : `${+v.toPrecision(3)}`

function cell(rs: Row[], k: string, scale = 1): string {
  const v = rs.map((r) => num(r, k) / scale)
  const [lo, hi] = minMax(v)
  const m = median(v)
  return lo === hi || !Number.isFinite(lo) ? fmt(m) : `${fmt(m)} (${fmt(lo)}–${fmt(hi)})`
}

const COLS: [label: string, key: string, scale?: number][] = [
  ['deliveries/s', 'delivered_per_s'],
  ['loss %', 'loss_pct'],
  ['clients short / extra', ''],
  ['p50 ms', 'p50_ms'],
  ['p99 ms', 'p99_ms'],
  ['max ms', 'max_ms'],
  ['CPU % (nodes + Redis)', 'server_cpu_pct'],
  ['nodes CPU %', 'node_cpu_pct'],
  ['Redis CPU %', 'redis_cpu_pct'],
  ['CPU µs per delivery', 'cpu_us_per_delivery'],
  ['Redis commands per message', 'redis_calls_per_msg'],
  ['generator CPU %', 'gen_cpu_pct'],
  ['frames per client read', 'frames_per_read'],
  ['RSS joined MiB (sum)', 'rss_joined_kib', 1024],
  ['Redis RSS MiB', 'redis_rss_kib', 1024],
  ['errors', 'errors'],
  ['load avg (1 min)', 'load_avg_1m'],
]

function groups(rows: Row[]): [ClusterTarget, Row[]][] {
  const m = new Map<ClusterTarget, Row[]>()
  for (const r of rows) {
    const t = String(r.target)
    if (!isClusterTarget(t)) continue
    const list = m.get(t)
    if (list) list.push(r)
    else m.set(t, [r])
  }
  return [...m]
}

function table(rows: Row[]): string {
  const body = groups(rows).map(([t, rs]) => {
    const ok = rs.filter((r) => !r.failed)
    const failed = rs.length - ok.length
    const label = `${CLUSTER_DEFS[t].label}${
      failed
        ? ` (${failed} run(s) failed: ${String(rs.find((r) => r.failed)?.error ?? '')
            .replace(/[|\n]/g, ' ')
            .slice(0, 120)})`
        : ''
    }`
    if (!ok.length) return [label, ...COLS.map(() => '')]
    return [
      label,
      ...COLS.map(([, k, s]) =>
        k === ''
          ? `${ok.reduce((a, r) => a + num(r, 'clients_short'), 0)} / ${ok.reduce((a, r) => a + num(r, 'clients_extra'), 0)}`
          : cell(ok, k, s),
      ),
    ]
  })
  const head = ['target', ...COLS.map((c) => c[0])]
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...body.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n')
}

function targets(rows: Row[]): string {
  const med = (t: ClusterTarget, k: string) =>
    median(rows.filter((r) => r.target === t && !r.failed).map((r) => num(r, k)))
  const lines: string[][] = []
  const check = (what: string, v: number, limit: number) =>
    lines.push(
      !Number.isFinite(v) || !Number.isFinite(limit)
        ? [what, fmt(v), fmt(limit), 'not measured']
        : [what, fmt(v), `≤ ${fmt(limit)}`, v <= limit ? 'pass' : '**miss**'],
    )
  const p99 = med('two-nodes', 'p99_ms')
  check('p99 ms ≤ one node + 1 ms', p99, med('one-node', 'p99_ms') + 1)
  check('p99 ms ≤ 0.5× Socket.IO + redis-adapter', p99, 0.5 * med('socketio-redis', 'p99_ms'))
  const cpu = med('two-nodes', 'cpu_us_per_delivery')
  check('CPU µs per delivery ≤ 1.5× one node', cpu, 1.5 * med('one-node', 'cpu_us_per_delivery'))
  check(
    'CPU µs per delivery ≤ 0.75× Socket.IO + redis-adapter',
    cpu,
    0.75 * med('socketio-redis', 'cpu_us_per_delivery'),
  )
  const two = rows.filter((r) => r.target === 'two-nodes' && !r.failed)
  const lost = two.reduce((a, r) => a + Math.max(0, num(r, 'expected') - num(r, 'delivered')), 0)
  const short = two.reduce((a, r) => a + num(r, 'clients_short') + num(r, 'clients_extra'), 0)
  lines.push([
    'no loss (deliveries missing over all reps; clients short or with extra deliveries)',
    two.length ? `${fmt(lost)}; ${fmt(short)}` : '–',
    '0; 0',
    !two.length ? 'not measured' : lost === 0 && short === 0 ? 'pass' : '**miss**',
  ])
  return [
    '| target for 2 nodes + Redis | measured (median) | limit | result |',
    '|---|---|---|---|',
    ...lines.map((l) => `| ${l.join(' | ')} |`),
  ].join('\n')
}

/** The `cluster` and `cluster-targets` sections of docs/benchmarks.md, if the rows hold the cluster scenario. */
export function clusterSections(rows: Row[]): [string, string][] {
  const rs = rows.filter((r) => r.scenario === 'cluster')
  if (!rs.length) return []
  const r0 = rs[0] ?? {}
  const reps = new Set(rs.map((r) => r.rep)).size
  const head = `Command: \`${String(r0.command)}\` (${String(r0.ts).slice(0, 16)}Z, ${reps} rep(s), client ${r0.client}, tick ${r0.tick_ms} ms). Cells: median (min–max) over the repetitions; "clients short / extra": clients that received fewer / more than every message sent to the room in the window, summed over the repetitions.\n\n`
  return [
    ['cluster', head + table(rs)],
    ['cluster-targets', `Command: \`${String(r0.command)}\`\n\n${targets(rs)}`],
  ]
}

/** docs/bench-cluster.svg: CPU µs per delivery, split into nodes and Redis, median per target. */
export function clusterCharts(rows: Row[]): string[] {
  const rs = rows.filter((r) => r.scenario === 'cluster' && !r.failed)
  if (!rs.length) return []
  const g = groups(rs)
  const perDelivery = (r: Row, k: string) => (num(r, k) * 1e4) / num(r, 'delivered_per_s') // % of a core → µs
  const short: Record<ClusterTarget, string> = {
    'one-node': 'project, 1 node',
    'two-nodes': 'project, 2 + Redis',
    'socketio-redis': 'Socket.IO, 2 + Redis',
    'bun-redis': 'bare Bun, 2 + Redis',
    'bun-ioredis': 'bare Bun+ioredis, 2 + R.',
    'bun-one': 'bare Bun, 1 node',
  }
  const series = g.map(([t, list]) => ({
    name: short[t],
    values: [
      median(list.map((r) => perDelivery(r, 'node_cpu_pct'))),
      median(list.map((r) => perDelivery(r, 'redis_cpu_pct'))), // no bar without Redis
      median(list.map((r) => num(r, 'cpu_us_per_delivery'))),
    ],
  }))
  writeFileSync(
    join(REPO, 'docs', 'bench-cluster.svg'),
    barChart({
      title: 'cluster: CPU per delivery, fanout load (median of reps)',
      yLabel: 'CPU µs per delivery',
      groups: ['nodes', 'Redis', 'nodes + Redis'],
      series,
    }),
  )
  return ['docs/bench-cluster.svg']
}

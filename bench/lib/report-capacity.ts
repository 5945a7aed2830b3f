// The capacity scenario's part of the report: a table of every step, the fitted cost per connection, the
// extrapolation to 100,000 connections, the targets, and the chart docs/bench-capacity.svg.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Row } from './scenarios'
import { median } from './stats'
import { lineChart, type Series } from './svg'
import { DEFS, REPO, type TargetName } from './targets'

const num = (r: Row | undefined, k: string) =>
  r && typeof r[k] === 'number' ? (r[k] as number) : Number.NaN
const fmt = (v: number, digits = 3) =>
  !Number.isFinite(v)
    ? '–'
    : Math.abs(v) >= 100
      ? Math.round(v).toLocaleString('en-US')
      : `${+v.toPrecision(digits)}`
const mib = (kib: number) => fmt(kib / 1024)
const TARGET_CONNECTIONS = 100_000
/** The project runs from its bench entry point here (the product plus the memory probe). */
const label = (t: TargetName) =>
  t === 'project' ? 'project (bench/probe/project.ts)' : DEFS[t].label
const RSS_LIMIT_MIB = 512

function table(head: string[], body: string[][]): string {
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...body.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n')
}

/** Per target: the summary rows (one per repetition) and the step rows. */
function split(rows: Row[]) {
  const out = new Map<TargetName, { runs: Row[]; steps: Row[] }>()
  for (const r of rows) {
    const t = r.target as TargetName
    const e = out.get(t) ?? { runs: [], steps: [] }
    if (r.scenario === 'capacity-step') e.steps.push(r)
    else e.runs.push(r)
    out.set(t, e)
  }
  return out
}

export function capacitySection(rows: Row[], command: string): string {
  const byTarget = split(rows)
  const parts: string[] = []
  const r0 = rows[0] ?? {}
  parts.push(
    `Command: \`${String(r0.command ?? command)}\` (${String(r0.ts ?? '').slice(0, 16)}Z${r0.server_env ? `, server env ${r0.server_env}` : ''}). ` +
      'Rooms of 100 idle members; at each step: RSS after 2 s + 5 s at rest, live heap after a forced GC, ' +
      'CPU at rest, and one message per room per second for the p99 (a window with p99 ≥ 50 ms is repeated ' +
      'once: "[n repeated]"; both windows are in the JSON). Cells: median (min–max) over the repetitions.',
  )
  // one row per target and step: median (min–max) over the repetitions
  const stepBody: string[][] = []
  for (const [t, { steps }] of byTarget) {
    const conns = [...new Set(steps.map((s) => num(s, 'connections')))].sort((x, y) => x - y)
    for (const c of conns) {
      const at = steps.filter((s) => num(s, 'connections') === c)
      const cell = (k: string, scale = 1) => {
        const v = at.map((s) => num(s, k) / scale).filter(Number.isFinite)
        if (v.length === 0) return '–'
        const lo = Math.min(...v)
        const hi = Math.max(...v)
        return lo === hi ? fmt(lo) : `${fmt(median(v))} (${fmt(lo)}–${fmt(hi)})`
      }
      const repeated = at.filter((s) => s.probe_windows === 2).length
      stepBody.push([
        label(t),
        fmt(c),
        cell('connect_join_ms'),
        cell('rss_kib', 1024),
        cell('rss_after_gc_kib', 1024),
        cell('heap_kib', 1024),
        cell('kib_per_conn'),
        cell('heap_kib_per_conn'),
        cell('objects_per_conn'),
        cell('cpu_rest_pct'),
        cell('probe_deliveries_per_s'),
        cell('probe_server_cpu_pct'),
        cell('p50_ms'),
        cell('p99_ms') + (repeated ? ` [${repeated} repeated]` : ''),
        fmt(at.reduce((n, s) => n + num(s, 'errors') + num(s, 'unexpected_closes'), 0)),
        cell('loadavg_1m'),
      ])
    }
  }
  parts.push(
    table(
      [
        'target',
        'joined connections',
        'connect+join ms (this step)',
        'RSS MiB',
        'RSS after GC MiB',
        'live heap MiB',
        '(RSS − idle RSS) / conn KiB',
        'heap KiB/conn',
        'heap objects/conn',
        'CPU at rest %',
        'deliveries/s in probe',
        'server CPU % in probe',
        'p50 ms',
        'p99 ms',
        'errors + closes',
        'load avg',
      ],
      stepBody,
    ),
  )
  const sumBody: string[][] = []
  for (const [t, { runs }] of byTarget) {
    const ok = runs.filter((r) => !r.failed)
    if (ok.length === 0) {
      sumBody.push([label(t), `**failed**: ${String(runs[0]?.error ?? '').slice(0, 120)}`])
      continue
    }
    const m = (k: string) => median(ok.map((r) => num(r, k)))
    sumBody.push([
      label(t),
      `${fmt(m('fd_limit_server'))} / ${fmt(m('fd_limit_generator'))}`,
      fmt(m('max_connections')),
      mib(m('rss_idle_kib')),
      fmt(m('slope_kib_per_conn')),
      fmt(m('heap_slope_kib_per_conn')),
      mib(m('top_rss_kib')),
      `**${fmt(m('extrapolated_rss_100k_mib'))}** (extrapolated)`,
      fmt(m('top_p99_ms')),
      ok.every((r) => r.all_passed) ? 'none' : `**${ok.map((r) => r.stop_reason).join('; ')}**`,
    ])
  }
  parts.push(
    table(
      [
        'target',
        'open-files limit server / generator',
        'most connections measured',
        'idle RSS MiB',
        'RSS per connection KiB (slope)',
        'live heap per connection KiB (slope)',
        'RSS at most connections MiB',
        'RSS at 100,000 MiB',
        'p99 ms at most connections',
        'errors',
      ],
      sumBody,
    ),
  )
  parts.push(
    'The slope is a least-squares line through (connections, RSS) over every step; "RSS at 100,000" is that ' +
      'line extended past the last measured step. **It is an extrapolation, not a measurement**: one process ' +
      'cannot hold more sockets than its open-files limit allows.',
  )
  const med = (t: TargetName, k: string) =>
    median((byTarget.get(t)?.runs ?? []).filter((r) => !r.failed).map((r) => num(r, k)))
  const checks: string[][] = []
  const check = (what: string, v: number, limit: number, unit = '') => {
    checks.push([
      what,
      `${fmt(v)}${unit}`,
      `≤ ${fmt(limit)}${unit}`,
      !Number.isFinite(v) || !Number.isFinite(limit)
        ? 'not measured'
        : v <= limit
          ? 'pass'
          : '**miss**',
    ])
  }
  if (byTarget.has('project')) {
    check(
      `RSS at ${TARGET_CONNECTIONS.toLocaleString('en-US')} joined connections (extrapolated)`,
      med('project', 'extrapolated_rss_100k_mib'),
      RSS_LIMIT_MIB,
      ' MiB',
    )
    check(
      'p99 of a room message at the most connections measured',
      med('project', 'top_p99_ms'),
      50,
      ' ms',
    )
    const runs = byTarget.get('project')?.runs ?? []
    checks.push([
      'errors at any step',
      runs.every((r) => r.all_passed) ? '0' : 'some',
      '0',
      runs.length && runs.every((r) => r.all_passed) ? 'pass' : '**miss**',
    ])
    if (byTarget.has('bun'))
      check(
        'RSS per connection ≤ 1.5× bare Bun (slopes)',
        med('project', 'slope_kib_per_conn'),
        1.5 * med('bun', 'slope_kib_per_conn'),
        ' KiB',
      )
  }
  if (checks.length) parts.push(table(['capacity target', 'measured', 'limit', 'result'], checks))
  return parts.join('\n\n')
}

export function capacityChart(rows: Row[]): string | null {
  const byTarget = split(rows)
  const series: Series[] = []
  for (const [t, { runs, steps }] of byTarget) {
    const conns = [...new Set(steps.map((s) => num(s, 'connections')))]
    series.push({
      name: label(t),
      points: conns.map((c): [number, number] => [
        c,
        median(steps.filter((s) => num(s, 'connections') === c).map((s) => num(s, 'rss_kib'))) /
          1024,
      ]),
    })
    const ok = runs.filter((r) => !r.failed)
    const a = median(ok.map((r) => num(r, 'intercept_kib')))
    const b = median(ok.map((r) => num(r, 'slope_kib_per_conn')))
    const last = Math.max(...conns)
    if (Number.isFinite(a) && Number.isFinite(b) && last < TARGET_CONNECTIONS)
      series.push({
        name: `${t}: extrapolated`,
        points: [
          [last, (a + b * last) / 1024],
          [TARGET_CONNECTIONS, (a + b * TARGET_CONNECTIONS) / 1024],
        ],
      })
  }
  if (series.length === 0) return null
  const path = join(REPO, 'docs', 'bench-capacity.svg')
  writeFileSync(
    path,
    lineChart({
      title: 'capacity: server RSS by joined idle connections',
      xLabel: 'joined connections (measured up to the open-files limit, then extrapolated)',
      yLabel: 'RSS MiB',
      series,
      hLine: RSS_LIMIT_MIB,
    }),
  )
  return 'docs/bench-capacity.svg'
}

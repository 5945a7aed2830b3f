// Aggregation (median with min–max over repetitions, ratio to the bare-Bun ceiling), Markdown tables, SVG charts,
// and the generated sections of docs/benchmarks.md (between <!-- bench:NAME --> and <!-- /bench:NAME -->).
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { clusterCharts, clusterSections } from './cluster-report'
import { capacityChart, capacitySection } from './report-capacity'
import type { Row } from './scenarios'
import { median, minMax } from './stats'
import { barChart, lineChart, type Series } from './svg'
import { DEFS, REPO, type TargetName } from './targets'

const DOCS = join(REPO, 'docs')
const num = (r: Row, k: string) => (typeof r[k] === 'number' ? (r[k] as number) : Number.NaN)
const fmt = (v: number) =>
  !Number.isFinite(v)
    ? '–'
    : Math.abs(v) >= 100
      ? Math.round(v).toLocaleString('en-US')
      : `${+v.toPrecision(3)}`

interface Agg {
  med: number
  lo: number
  hi: number
}
function agg(rows: Row[], k: string): Agg {
  const v = rows.map((r) => num(r, k))
  const [lo, hi] = minMax(v)
  return { med: median(v), lo, hi }
}
const cell = (a: Agg, scale = 1) =>
  a.lo === a.hi || !Number.isFinite(a.lo)
    ? fmt(a.med / scale)
    : `${fmt(a.med / scale)} (${fmt(a.lo / scale)}–${fmt(a.hi / scale)})`
const ratio = (a: Agg, base: Agg | undefined) =>
  base && Number.isFinite(base.med) && base.med > 0 && Number.isFinite(a.med)
    ? ` ×${(a.med / base.med).toFixed(2)}`
    : ''

function table(head: string[], body: string[][]): string {
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...body.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n')
}

type ColDef = [label: string, key: string, scale?: number, withRatio?: boolean]

function byTarget(rows: Row[]): Map<TargetName, Row[]> {
  const m = new Map<TargetName, Row[]>()
  for (const r of rows) {
    const t = r.target as TargetName
    const list = m.get(t)
    if (list) list.push(r)
    else m.set(t, [r])
  }
  return m
}

function scenarioTable(rows: Row[], cols: ColDef[]): string {
  const m = byTarget(rows)
  const bun = m.get('bun')?.filter((r) => !r.failed)
  const body: string[][] = []
  for (const [t, rs] of m) {
    const ok = rs.filter((r) => !r.failed)
    const failed = rs.filter((r) => r.failed)
    if (ok.length === 0) {
      body.push([
        DEFS[t].label,
        `**failed**: ${String(failed[0]?.error ?? '')
          .replace(/\|/g, '/')
          .replace(/\n/g, ' ')
          .slice(0, 160)}`,
        ...cols.slice(1).map(() => ''),
      ])
      continue
    }
    body.push([
      `${DEFS[t].label}${failed.length ? ` (${failed.length} run(s) failed)` : ''}`,
      ...cols.map(
        ([, k, s, wr]) =>
          cell(agg(ok, k), s) +
          (wr && t !== 'bun' && bun?.length ? ratio(agg(ok, k), agg(bun, k)) : ''),
      ),
    ])
  }
  return table(['target', ...cols.map((c) => c[0])], body)
}

const STEADY_COLS: ColDef[] = [
  ['deliveries/s', 'delivered_per_s'],
  ['expected/s', 'expected_per_s'],
  ['loss %', 'loss_pct'],
  ['p50 ms', 'p50_ms', 1, true],
  ['p95 ms', 'p95_ms'],
  ['p99 ms', 'p99_ms', 1, true],
  ['max ms', 'max_ms'],
  ['server CPU %', 'server_cpu_pct', 1, true],
  ['generator CPU %', 'gen_cpu_pct'],
  ['RSS idle MiB', 'rss_idle_kib', 1024],
  ['RSS joined MiB', 'rss_joined_kib', 1024, true],
  ['RSS peak MiB', 'rss_peak_kib', 1024],
  ['errors', 'errors'],
]

function stormTable(rows: Row[]): string {
  const body: string[][] = []
  const m = byTarget(rows)
  for (const [t, rs] of m) {
    const sizes = [...new Set(rs.filter((r) => !r.failed).map((r) => num(r, 'size')))].sort(
      (a, b) => a - b,
    )
    if (sizes.length === 0)
      body.push([
        DEFS[t].label,
        '**failed**',
        String(rs[0]?.error ?? '').slice(0, 120),
        '',
        '',
        '',
        '',
        '',
        '',
        '',
      ])
    for (const s of sizes) {
      const ok = rs.filter((r) => !r.failed && num(r, 'size') === s)
      const bun = m.get('bun')?.filter((r) => !r.failed && num(r, 'size') === s)
      body.push([
        DEFS[t].label,
        String(s),
        cell(agg(ok, 'join_ms')) +
          (t !== 'bun' && bun?.length ? ratio(agg(ok, 'join_ms'), agg(bun, 'join_ms')) : ''),
        cell(agg(ok, 'converge_ms')),
        cell(agg(ok, 'frames_out')),
        cell(agg(ok, 'bytes_out'), 1024 * 1024),
        cell(agg(ok, 'server_cpu_s')) +
          (t !== 'bun' && bun?.length
            ? ratio(agg(ok, 'server_cpu_s'), agg(bun, 'server_cpu_s'))
            : ''),
        cell(agg(ok, 'gen_cpu_s')),
        `${fmt(median(ok.map((r) => num(r, 'lists_correct'))))}/${s}`,
        fmt(ok[0] ? num(ok[0], 'quadratic_frames') : Number.NaN),
      ])
    }
    const g = growth(rs)
    if (Number.isFinite(g))
      body.push([
        DEFS[t].label,
        'growth',
        `time ∝ size^${g.toFixed(2)}`,
        '',
        '',
        '',
        '',
        '',
        '',
        '1 = linear, 2 = quadratic',
      ])
  }
  return table(
    [
      'target',
      'room size',
      'all joined ms',
      'all lists complete ms',
      'frames sent',
      'MiB sent',
      'server CPU s',
      'generator CPU s',
      'correct lists',
      'N(N-1)/2+N',
    ],
    body,
  )
}

/** Exponent k in time ∝ size^k between the smallest and largest room size. */
function growth(rs: Row[]): number {
  const ok = rs.filter((r) => !r.failed)
  const sizes = [...new Set(ok.map((r) => num(r, 'size')))].sort((a, b) => a - b)
  if (sizes.length < 2) return Number.NaN
  const t = (s: number) =>
    median(ok.filter((r) => num(r, 'size') === s).map((r) => num(r, 'join_ms')))
  const a = sizes[0]
  const b = sizes[sizes.length - 1]
  if (a === undefined || b === undefined) return Number.NaN
  return Math.log(t(b) / t(a)) / Math.log(b / a)
}

function targetsCheck(all: Row[]): string {
  const pick = (sc: string, t: TargetName) =>
    all.filter((r) => r.scenario === sc && r.target === t && !r.failed)
  const med = (sc: string, t: TargetName, k: string) => median(pick(sc, t).map((r) => num(r, k)))
  const lines: string[][] = []
  const check = (what: string, v: number, limit: number, le = true) => {
    if (!Number.isFinite(v) || !Number.isFinite(limit))
      return lines.push([what, fmt(v), fmt(limit), 'not measured'])
    lines.push([
      what,
      fmt(v),
      `${le ? '≤' : '≥'} ${fmt(limit)}`,
      (le ? v <= limit : v >= limit) ? 'pass' : '**miss**',
    ])
  }
  for (const sc of ['fanout', 'rooms']) {
    check(
      `${sc}: server CPU % ≤ 1.5× bare Bun`,
      med(sc, 'project', 'server_cpu_pct'),
      1.5 * med(sc, 'bun', 'server_cpu_pct'),
    )
    check(
      `${sc}: server CPU % ≤ 0.5× Node ws`,
      med(sc, 'project', 'server_cpu_pct'),
      0.5 * med(sc, 'node-ws', 'server_cpu_pct'),
    )
    check(`${sc}: p99 ms ≤ 2× bare Bun`, med(sc, 'project', 'p99_ms'), 2 * med(sc, 'bun', 'p99_ms'))
  }
  const peers = Math.max(
    med('ramp', 'socketio', 'best_offered_per_s'),
    med('ramp', 'node-ws', 'best_offered_per_s'),
  )
  check(
    'ramp: best passing deliveries/s ≥ 5× max(Socket.IO, Node ws)',
    med('ramp', 'project', 'best_offered_per_s'),
    5 * peers,
    false,
  )
  check(
    'idle: KiB per connection ≤ 1.5× bare Bun',
    med('idle', 'project', 'kib_per_conn'),
    1.5 * med('idle', 'bun', 'kib_per_conn'),
  )
  check(
    'idle: connect+join 10,000 ms ≤ 1.5× bare Bun',
    med('idle', 'project', 'connect_join_ms'),
    1.5 * med('idle', 'bun', 'connect_join_ms'),
  )
  check(
    'join-storm: growth exponent (time ∝ size^k) close to 1',
    growth(all.filter((r) => r.scenario === 'join-storm' && r.target === 'project')),
    1.3,
  )
  return table(['target for the project', 'measured', 'limit', 'result'], lines)
}

/** One line per target: for each distinct `x`, the median `y` over the repetitions. */
function medianSeries(rows: Row[], targets: TargetName[], x: string, y: string): Series[] {
  return targets.map((t) => {
    const rs = rows.filter((r) => r.target === t)
    const xs = [...new Set(rs.map((r) => num(r, x)))]
    return {
      name: DEFS[t].label,
      points: xs.map((v): [number, number] => [
        v,
        median(rs.filter((r) => num(r, x) === v).map((r) => num(r, y))),
      ]),
    }
  })
}

function charts(rows: Row[]): string[] {
  const written: string[] = []
  // only the targets of DEFS: the cluster scenario has its own (bench/lib/cluster-report.ts)
  const targets = [...new Set(rows.map((r) => r.target as TargetName))].filter((t) => t in DEFS)
  const steps = rows.filter((r) => r.scenario === 'ramp-step')
  if (steps.length) {
    const series = medianSeries(steps, targets, 'offered_per_s', 'p99_ms')
    writeFileSync(
      join(DOCS, 'bench-latency.svg'),
      lineChart({
        title: 'ramp: p99 latency by offered load (median of reps)',
        xLabel: 'offered deliveries/s (log)',
        yLabel: 'p99 ms (log)',
        series,
        logX: true,
        logY: true,
        hLine: 50,
      }),
    )
    written.push('docs/bench-latency.svg')
  }
  const idle = rows.filter((r) => r.scenario === 'idle' && !r.failed)
  if (idle.length) {
    const ts = targets.filter((t) => idle.some((r) => r.target === t))
    const v = (k: string) =>
      ts.map((t) => median(idle.filter((r) => r.target === t).map((r) => num(r, k))))
    writeFileSync(
      join(DOCS, 'bench-memory.svg'),
      barChart({
        title: 'idle: server memory per connection (10,000 joined, median)',
        yLabel: 'KiB per connection',
        groups: ['KiB per connection'],
        series: ts.map((t, i) => ({
          name: DEFS[t].label,
          values: [v('kib_per_conn')[i] ?? Number.NaN],
        })),
      }),
    )
    written.push('docs/bench-memory.svg')
  }
  const storm = rows.filter((r) => r.scenario === 'join-storm' && !r.failed)
  if (storm.length) {
    const series = medianSeries(storm, targets, 'size', 'join_ms')
    writeFileSync(
      join(DOCS, 'bench-joinstorm.svg'),
      lineChart({
        title: 'join-storm: time until all have joined (median)',
        xLabel: 'room size',
        yLabel: 'ms (log)',
        series,
        logY: true,
      }),
    )
    written.push('docs/bench-joinstorm.svg')
  }
  const cpu = rows.filter((r) => (r.scenario === 'fanout' || r.scenario === 'rooms') && !r.failed)
  if (cpu.length) {
    const ts = targets.filter((t) => cpu.some((r) => r.target === t))
    const groups = ['fanout', 'rooms'].filter((s) => cpu.some((r) => r.scenario === s))
    const series = ts.map((t) => ({
      name: DEFS[t].label,
      values: groups.map((g) =>
        median(
          cpu
            .filter((r) => r.target === t && r.scenario === g)
            .map((r) => num(r, 'server_cpu_pct')),
        ),
      ),
    }))
    writeFileSync(
      join(DOCS, 'bench-cpu.svg'),
      barChart({
        title: 'server CPU (% of one core, median)',
        yLabel: '% of a core',
        groups,
        series,
      }),
    )
    written.push('docs/bench-cpu.svg')
  }
  return written
}

function replaceSection(doc: string, name: string, content: string): string {
  const a = `<!-- bench:${name} -->`
  const b = `<!-- /bench:${name} -->`
  const i = doc.indexOf(a)
  const j = doc.indexOf(b)
  if (i >= 0 && j > i) return `${doc.slice(0, i + a.length)}\n${content}\n${doc.slice(j)}`
  return `${doc.trimEnd()}\n\n${a}\n${content}\n${b}\n`
}

export function writeReport(
  rows: Row[],
  o: { command: string; docs: boolean; print: boolean },
): void {
  const sections = new Map<string, string>()
  // callers pass non-empty rs; the {} fallback only satisfies the checker
  const header = (rs: Row[]) => {
    const reps = new Set(rs.map((r) => r.rep)).size
    const r0: Row = rs[0] ?? {}
    return `Command: \`${String(r0.command ?? o.command)}\` (${String(r0.ts ?? new Date().toISOString()).slice(0, 16)}Z, ${reps} rep(s), client ${r0.client}, tick ${r0.tick_ms} ms). Cells: median (min–max); ×N = ratio to the bare-Bun ceiling.\n\n`
  }
  for (const sc of ['fanout', 'rooms']) {
    const rs = rows.filter((r) => r.scenario === sc)
    if (rs.length) sections.set(sc, header(rs) + scenarioTable(rs, STEADY_COLS))
  }
  const ramp = rows.filter((r) => r.scenario === 'ramp')
  if (ramp.length) {
    const stops = (t: string) =>
      [
        ...new Set(
          ramp.filter((r) => r.target === t).map((r) => String(r.stop_reason ?? r.error ?? '')),
        ),
      ].join('; ')
    sections.set(
      'ramp',
      header(ramp) +
        scenarioTable(ramp, [
          ['highest passing deliveries/s (offered)', 'best_offered_per_s', 1, true],
          ['delivered/s at that step', 'best_delivered_per_s'],
          ['rooms', 'best_rooms'],
          ['p99 ms at that step', 'best_p99_ms'],
          ['server CPU %', 'best_server_cpu_pct'],
          ['generator CPU %', 'best_gen_cpu_pct'],
        ]) +
        `\n\nStopped because: ${[...new Set(ramp.map((r) => r.target as string))].map((t) => `${t}: ${stops(t)}`).join('; ')}.`,
    )
  }
  const idle = rows.filter((r) => r.scenario === 'idle')
  if (idle.length)
    sections.set(
      'idle',
      header(idle) +
        scenarioTable(idle, [
          ['connect+join ms', 'connect_join_ms', 1, true],
          ['connect ms', 'connect_ms'],
          ['KiB per connection', 'kib_per_conn', 1, true],
          ['RSS idle MiB', 'rss_idle_kib', 1024],
          ['RSS joined MiB', 'rss_joined_kib', 1024],
          ['RSS peak MiB', 'rss_hwm_kib', 1024],
          ['server CPU s', 'server_cpu_s', 1, true],
          ['joined', 'joined'],
          ['errors', 'errors'],
        ]),
    )
  const storm = rows.filter((r) => r.scenario === 'join-storm')
  if (storm.length) sections.set('join-storm', header(storm) + stormTable(storm))
  for (const [k, v] of clusterSections(rows)) sections.set(k, v)
  const cap = rows.filter((r) => String(r.scenario).startsWith('capacity'))
  if (cap.length) sections.set('capacity', capacitySection(cap, o.command))
  // the targets of the other scenarios: only from a run that measured some of them
  const others = rows.filter((r) => !String(r.scenario).startsWith('capacity'))
  if (others.some((r) => r.target === 'project') && others.some((r) => r.target === 'bun'))
    sections.set('targets', `Command: \`${o.command}\`\n\n${targetsCheck(others)}`)

  if (o.print) for (const [k, v] of sections) console.log(`\n## ${k}\n${v}`)
  if (!o.docs) return
  const written = [...charts(rows), ...clusterCharts(rows)]
  const capChart = capacityChart(cap)
  if (capChart) written.push(capChart)
  const path = join(DOCS, 'benchmarks.md')
  let doc = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n'
  for (const [k, v] of sections) doc = replaceSection(doc, k, v)
  writeFileSync(path, doc)
  console.log(
    `\nupdated docs/benchmarks.md (${[...sections.keys()].join(', ')}) and ${written.join(', ') || 'no charts'}`,
  )
}

// Tiny SVG charts (no dependencies): line chart with optional log axes, grouped bar chart.
const W = 720
const H = 400
const M = { l: 70, r: 170, t: 40, b: 50 }
const COLORS = ['#d62728', '#1f77b4', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b']
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;')
const fmt = (v: number) =>
  v >= 1e6
    ? `${+(v / 1e6).toPrecision(3)}M`
    : v >= 1e3
      ? `${+(v / 1e3).toPrecision(3)}k`
      : `${+v.toPrecision(3)}`

export interface Series {
  name: string
  points: [number, number][]
}

function frame(title: string, xLabel: string, yLabel: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${M.l}" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`,
    `<text x="${(M.l + W - M.r) / 2}" y="${H - 10}" text-anchor="middle">${esc(xLabel)}</text>`,
    `<text transform="translate(16 ${(M.t + H - M.b) / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`,
    ...body,
    '</svg>',
  ].join('\n')
}

function ticks(lo: number, hi: number, log: boolean): number[] {
  if (log) {
    const out: number[] = []
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) out.push(10 ** e)
    return out
  }
  const step = 10 ** Math.floor(Math.log10((hi - lo) / 5 || 1))
  const s = [1, 2, 5, 10].map((k) => k * step).find((k) => (hi - lo) / k <= 6) ?? step * 10
  const out: number[] = []
  for (let v = Math.floor(lo / s) * s; v <= hi + 1e-9; v += s) out.push(v)
  return out
}

export function lineChart(o: {
  title: string
  xLabel: string
  yLabel: string
  series: Series[]
  logX?: boolean
  logY?: boolean
  hLine?: number
}): string {
  const pts = o.series
    .flatMap((s) => s.points)
    .filter(
      ([x, y]) =>
        Number.isFinite(x) && Number.isFinite(y) && (!o.logX || x > 0) && (!o.logY || y > 0),
    )
  if (pts.length === 0)
    return frame(o.title, o.xLabel, o.yLabel, [`<text x="200" y="200">no data</text>`])
  const xs = pts.map((p) => p[0])
  const ys = pts.map((p) => p[1]).concat(o.hLine ?? [])
  let [x0, x1, y0, y1] = [
    Math.min(...xs),
    Math.max(...xs),
    o.logY ? Math.min(...ys) : 0,
    Math.max(...ys),
  ]
  if (o.logX) [x0, x1] = [10 ** Math.floor(Math.log10(x0)), 10 ** Math.ceil(Math.log10(x1))]
  if (o.logY) [y0, y1] = [10 ** Math.floor(Math.log10(y0)), 10 ** Math.ceil(Math.log10(y1))]
  if (x1 === x0) x1 = x0 + 1
  if (y1 === y0) y1 = y0 + 1
  const tx = (x: number) =>
    M.l +
    (o.logX ? Math.log10(x / x0) / Math.log10(x1 / x0) : (x - x0) / (x1 - x0)) * (W - M.l - M.r)
  const ty = (y: number) =>
    H -
    M.b -
    (o.logY ? Math.log10(y / y0) / Math.log10(y1 / y0) : (y - y0) / (y1 - y0)) * (H - M.t - M.b)
  const body: string[] = []
  for (const v of ticks(x0, x1, !!o.logX)) {
    if (v < x0 || v > x1) continue
    body.push(
      `<line x1="${tx(v)}" x2="${tx(v)}" y1="${M.t}" y2="${H - M.b}" stroke="#eee"/><text x="${tx(v)}" y="${H - M.b + 16}" text-anchor="middle">${fmt(v)}</text>`,
    )
  }
  for (const v of ticks(y0, y1, !!o.logY)) {
    if (v < y0 || v > y1) continue
    body.push(
      `<line x1="${M.l}" x2="${W - M.r}" y1="${ty(v)}" y2="${ty(v)}" stroke="#eee"/><text x="${M.l - 6}" y="${ty(v) + 4}" text-anchor="end">${fmt(v)}</text>`,
    )
  }
  if (o.hLine !== undefined)
    body.push(
      `<line x1="${M.l}" x2="${W - M.r}" y1="${ty(o.hLine)}" y2="${ty(o.hLine)}" stroke="#999" stroke-dasharray="4 4"/>`,
    )
  o.series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length]
    const p = s.points
      .filter(
        ([x, y]) =>
          Number.isFinite(x) && Number.isFinite(y) && (!o.logX || x > 0) && (!o.logY || y > 0),
      )
      .sort((a, b) => a[0] - b[0])
    if (p.length)
      body.push(
        `<polyline fill="none" stroke="${c}" stroke-width="2" points="${p.map(([x, y]) => `${tx(x).toFixed(1)},${ty(y).toFixed(1)}`).join(' ')}"/>`,
      )
    for (const [x, y] of p)
      body.push(`<circle cx="${tx(x).toFixed(1)}" cy="${ty(y).toFixed(1)}" r="3" fill="${c}"/>`)
    body.push(
      `<rect x="${W - M.r + 12}" y="${M.t + i * 20}" width="12" height="12" fill="${c}"/><text x="${W - M.r + 30}" y="${M.t + i * 20 + 11}">${esc(s.name)}</text>`,
    )
  })
  body.push(
    `<rect x="${M.l}" y="${M.t}" width="${W - M.l - M.r}" height="${H - M.t - M.b}" fill="none" stroke="#333"/>`,
  )
  return frame(o.title, o.xLabel, o.yLabel, body)
}

export function barChart(o: {
  title: string
  yLabel: string
  groups: string[]
  series: { name: string; values: number[] }[]
}): string {
  const vals = o.series.flatMap((s) => s.values).filter(Number.isFinite)
  const y1 = Math.max(1e-9, ...vals) * 1.1
  const ty = (y: number) => H - M.b - (y / y1) * (H - M.t - M.b)
  const gw = (W - M.l - M.r) / Math.max(1, o.groups.length)
  const bw = (gw * 0.8) / Math.max(1, o.series.length)
  const body: string[] = []
  for (const v of ticks(0, y1, false)) {
    if (v > y1) continue
    body.push(
      `<line x1="${M.l}" x2="${W - M.r}" y1="${ty(v)}" y2="${ty(v)}" stroke="#eee"/><text x="${M.l - 6}" y="${ty(v) + 4}" text-anchor="end">${fmt(v)}</text>`,
    )
  }
  o.groups.forEach((g, gi) => {
    body.push(
      `<text x="${M.l + gi * gw + gw / 2}" y="${H - M.b + 16}" text-anchor="middle">${esc(g)}</text>`,
    )
    o.series.forEach((s, si) => {
      const v = s.values[gi] ?? Number.NaN
      if (!Number.isFinite(v)) return
      const x = M.l + gi * gw + gw * 0.1 + si * bw
      body.push(
        `<rect x="${x.toFixed(1)}" y="${ty(v).toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${(H - M.b - ty(v)).toFixed(1)}" fill="${COLORS[si % COLORS.length]}"/>`,
      )
      body.push(
        `<text x="${(x + bw / 2).toFixed(1)}" y="${(ty(v) - 4).toFixed(1)}" text-anchor="middle" font-size="10">${fmt(v)}</text>`,
      )
    })
  })
  o.series.forEach((s, i) => {
    body.push(
      `<rect x="${W - M.r + 12}" y="${M.t + i * 20}" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/><text x="${W - M.r + 30}" y="${M.t + i * 20 + 11}">${esc(s.name)}</text>`,
    )
  })
  body.push(
    `<rect x="${M.l}" y="${M.t}" width="${W - M.l - M.r}" height="${H - M.t - M.b}" fill="none" stroke="#333"/>`,
  )
  return frame(o.title, '', o.yLabel, body)
}

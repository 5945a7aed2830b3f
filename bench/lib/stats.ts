// Latency histogram (µs resolution below 100 ms, ms resolution up to 60 s) and small helpers.
const FINE = 100_000 // 0..99_999 µs, 1 µs buckets
const COARSE = 60_000 // 100 ms..60 s, 1 ms buckets

export class Histogram {
  private readonly b = new Uint32Array(FINE + COARSE)
  count = 0
  max = 0

  add(us: number): void {
    if (us < 0) us = 0
    const i = us < FINE ? us | 0 : Math.min(FINE + COARSE - 1, FINE + (((us - FINE) / 1000) | 0))
    this.b[i] = (this.b[i] ?? 0) + 1
    this.count++
    if (us > this.max) this.max = us
  }

  /** Quantile in milliseconds (q in 0..1), NaN when empty. */
  quantileMs(q: number): number {
    if (this.count === 0) return Number.NaN
    const rank = Math.max(1, Math.ceil(q * this.count))
    let seen = 0
    for (let i = 0; i < this.b.length; i++) {
      seen += this.b[i] ?? 0
      if (seen >= rank) return (i < FINE ? i : FINE + (i - FINE) * 1000) / 1000
    }
    return this.max / 1000
  }

  /** Non-empty buckets as [index, count] pairs, to send a histogram to another process. */
  toSparse(): [number, number][] {
    const out: [number, number][] = []
    for (let i = 0; i < this.b.length; i++) {
      const n = this.b[i] ?? 0
      if (n) out.push([i, n])
    }
    return out
  }

  /** Adds the buckets of another process's histogram (`toSparse`). */
  addSparse(pairs: [number, number][], max: number): void {
    for (const [i, n] of pairs) {
      this.b[i] = (this.b[i] ?? 0) + n
      this.count += n
    }
    if (max > this.max) this.max = max
  }

  reset(): void {
    this.b.fill(0)
    this.count = 0
    this.max = 0
  }
}

export function median(xs: number[]): number {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (v.length === 0) return Number.NaN
  const m = v.length >> 1
  const hi = v[m] ?? Number.NaN
  return v.length % 2 ? hi : ((v[m - 1] ?? Number.NaN) + hi) / 2
}

export function minMax(xs: number[]): [number, number] {
  const v = xs.filter((x) => Number.isFinite(x))
  if (v.length === 0) return [Number.NaN, Number.NaN]
  return [Math.min(...v), Math.max(...v)]
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** Poll `cond` every `stepMs` until true or `timeoutMs` elapsed; returns whether it became true. */
export async function waitFor(
  cond: () => boolean,
  timeoutMs: number,
  stepMs = 20,
): Promise<boolean> {
  const end = performance.now() + timeoutMs
  while (!cond()) {
    if (performance.now() > end) return false
    await sleep(stepMs)
  }
  return true
}

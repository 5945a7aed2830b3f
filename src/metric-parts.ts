// The pieces ServerMetrics (metrics.ts) is made of: a histogram kept in plain numbers
// (Tally) and shown through prom-client at scrape time, counters filled from arrays, and
// the process's file descriptors.

import { readdirSync, readFileSync } from 'node:fs'
import { Counter, Histogram, type Registry } from 'prom-client'

/** Seconds to handle one frame: most take tens of µs; a private join's argon2 verify ~0.1 s. */
export const HANDLE_BUCKETS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
] as const

/** A histogram per label value, kept in one Float64Array: bucket counts, then sum and count. */
export class Tally {
  readonly values: Float64Array
  private readonly stride = HANDLE_BUCKETS.length + 2

  constructor(labels: number) {
    this.values = new Float64Array(labels * this.stride)
  }

  observe(label: number, seconds: number): void {
    const base = label * this.stride
    let b = 0
    while (b < HANDLE_BUCKETS.length && seconds > (HANDLE_BUCKETS[b] as number)) b++
    const v = this.values
    if (b < HANDLE_BUCKETS.length) v[base + b] = (v[base + b] as number) + 1
    v[base + HANDLE_BUCKETS.length] = (v[base + HANDLE_BUCKETS.length] as number) + seconds
    v[base + HANDLE_BUCKETS.length + 1] = (v[base + HANDLE_BUCKETS.length + 1] as number) + 1
  }

  /** Cumulative `le` buckets, sum and count of one label value, in prom-client's shape. */
  series(name: string, labelName: string, labelValue: string, label: number) {
    const base = label * this.stride
    const out: { metricName: string; labels: Record<string, string | number>; value: number }[] = []
    let cumulative = 0
    HANDLE_BUCKETS.forEach((le, b) => {
      cumulative += this.values[base + b] as number
      out.push({
        metricName: `${name}_bucket`,
        labels: { le, [labelName]: labelValue },
        value: cumulative,
      })
    })
    const count = this.values[base + HANDLE_BUCKETS.length + 1] as number
    out.push({
      metricName: `${name}_bucket`,
      labels: { le: '+Inf', [labelName]: labelValue },
      value: count,
    })
    out.push({
      metricName: `${name}_sum`,
      labels: { [labelName]: labelValue },
      value: this.values[base + HANDLE_BUCKETS.length] as number,
    })
    out.push({ metricName: `${name}_count`, labels: { [labelName]: labelValue }, value: count })
    return out
  }
}

/** A prom-client Histogram whose values come from a Tally when scraped. */
export class TallyHistogram extends Histogram<'action'> {
  constructor(
    private readonly tally: Tally,
    /** The label values, in the order of the tally's series. */
    private readonly labelValues: readonly string[],
    registry: Registry,
  ) {
    super({
      name: 'chat_frame_handle_seconds',
      help: 'Time to handle one inbound WebSocket frame, by action (async joins until they finish)',
      labelNames: ['action'],
      buckets: [...HANDLE_BUCKETS],
      registers: [registry],
    })
  }

  override async get(): Promise<Awaited<ReturnType<Histogram<'action'>['get']>>> {
    const name = 'chat_frame_handle_seconds'
    const values = this.labelValues.flatMap((a, i) => this.tally.series(name, 'action', a, i))
    // prom-client's type wants label values typed by name; `le` is the histogram's own.
    return {
      name,
      help: 'Time to handle one inbound WebSocket frame, by action (async joins until they finish)',
      type: 'histogram',
      aggregator: 'sum',
      values,
    } as unknown as Awaited<ReturnType<Histogram<'action'>['get']>>
  }

  /** The registry prefers this to `get()` for histograms. */
  async getForPromString() {
    return this.get()
  }
}

/** Sets a counter's labelled values from an array at scrape time. */
export function counterFrom(
  registry: Registry,
  name: string,
  help: string,
  labelName: string,
  labels: readonly string[],
  values: Float64Array,
): Counter<string> {
  return new Counter({
    name,
    help,
    labelNames: [labelName],
    registers: [registry],
    collect() {
      this.reset()
      for (const [i, l] of labels.entries()) this.inc({ [labelName]: l }, values[i] as number)
    },
  })
}

/** Open file descriptors of this process (Linux), or undefined. */
export function openFds(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length
  } catch {
    return undefined
  }
}

/** The limit of open file descriptors (Linux), or undefined. */
export function maxFds(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'))
    const n = Number(line?.split(/\s+/)[3])
    return Number.isFinite(n) ? n : undefined
  } catch {
    return undefined
  }
}

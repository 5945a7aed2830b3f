/** One sample of the Prometheus text format. */
export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

/**
 * Parses the Prometheus text exposition (version 0.0.4): every sample line, checking that
 * each sample's metric family has a `# TYPE` line before it.
 */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = []
  const typed = new Set<string>()
  for (const line of text.split('\n')) {
    if (line === '') continue
    const type = line.match(/^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/)
    if (type?.[1]) {
      typed.add(type[1])
      continue
    }
    if (line.startsWith('#')) continue
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/)
    if (!m?.[1] || m[3] === undefined) throw new Error(`not a sample line: ${line}`)
    const labels: Record<string, string> = {}
    for (const pair of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[pair[1] as string] = (pair[2] as string).replace(/\\(.)/g, '$1')
    }
    const family = m[1].replace(/_(bucket|sum|count)$/, '')
    if (!typed.has(m[1]) && !typed.has(family)) throw new Error(`no # TYPE before ${m[1]}`)
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3])
    if (Number.isNaN(value) && m[3] !== 'NaN') throw new Error(`bad value in: ${line}`)
    samples.push({ name: m[1], labels, value })
  }
  return samples
}

/** The value of the one sample named `name` whose labels include `labels`; throws if none. */
export function metric(samples: Sample[], name: string, labels: Record<string, string> = {}) {
  const found = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  )
  if (found.length !== 1) {
    throw new Error(`${found.length} samples of ${name} ${JSON.stringify(labels)}`)
  }
  return (found[0] as Sample).value
}

// Bench-only memory probe, started inside a server under test when BENCH_PROBE_PORT is set (never by the product).
// GET /heap        → JSC heap statistics and process memory (add ?gc=1 to run a full collection first)
// GET /snapshot?file=NAME[&format=v8] → writes Bun.generateHeapSnapshot() to bench/results/NAME (for offline inspection)
// GET /types?gc=1  → object counts by type (from heapStats), the input of bench/probe/account.ts

import { heapStats } from 'bun:jsc'
import { writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

const RESULTS = resolve(import.meta.dir, '../results')

export function startProbe(): void {
  const port = Number(process.env.BENCH_PROBE_PORT ?? '')
  if (!Number.isInteger(port) || port <= 0) return
  Bun.serve({
    hostname: '127.0.0.1',
    port,
    fetch(req) {
      const url = new URL(req.url)
      if (url.searchParams.get('gc') === '1') Bun.gc(true)
      if (url.pathname === '/heap' || url.pathname === '/types') {
        const h = heapStats()
        const m = process.memoryUsage()
        const body: Record<string, unknown> = {
          heap_size: h.heapSize,
          heap_capacity: h.heapCapacity,
          extra_memory: h.extraMemorySize,
          object_count: h.objectCount,
          protected_objects: h.protectedObjectCount,
          rss: m.rss,
          heap_used: m.heapUsed,
          external: m.external,
        }
        if (url.pathname === '/types') body.types = h.objectTypeCounts
        return Response.json(body)
      }
      if (url.pathname === '/snapshot') {
        const name = (url.searchParams.get('file') ?? 'heap.json').replace(/[^\w.-]/g, '_')
        const path = join(RESULTS, name)
        // ?format=v8 gives Chrome DevTools' format, which also holds string contents
        writeFileSync(
          path,
          url.searchParams.get('format') === 'v8'
            ? Bun.generateHeapSnapshot('v8')
            : JSON.stringify(Bun.generateHeapSnapshot()),
        )
        return Response.json({ path })
      }
      return new Response('not found', { status: 404 })
    },
  })
}

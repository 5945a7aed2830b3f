// Heap accounting: which JS objects one idle, joined connection keeps in a server. Starts a Bun target with the memory
// probe, reads the heap's object counts by type (after a full GC) before and after N connections joined rooms of 100,
// and prints the difference per connection.
// Run: bun bench/probe/account.ts [project|bun|elysia] [N=5000] [--snapshot [--v8]] [KEY=VALUE for the server…]   (loopback only; the server is stopped by pid)
import { Hub } from '../lib/clients'
import { closeAll, connectAll, makeClients } from '../lib/load'
import { memKiB } from '../lib/proc'
import { sleep, waitFor } from '../lib/stats'
import { startTarget, stopTarget, type TargetName } from '../lib/targets'

type Types = { heap_size: number; object_count: number; types: Record<string, number> }

const target = (process.argv[2] ?? 'project') as TargetName
const n = Math.min(20_000, Math.max(100, Number(process.argv[3] ?? 5000)))
const snapshot = process.argv.includes('--snapshot')
const v8 = process.argv.includes('--v8')
const perRoom = 100

// extra settings for the server: KEY=VALUE arguments
const env = Object.fromEntries(
  process.argv
    .filter((a) => /^[A-Z_]+=/.test(a))
    .map((a) => [a.split('=')[0], a.slice(a.indexOf('=') + 1)]),
)
const rt = await startTarget(target, 'raw', `account-${target}`, { probe: true, env })
const types = async (): Promise<Types> =>
  (await (
    await fetch(`http://127.0.0.1:${rt.probePort}/types?gc=1`, {
      signal: AbortSignal.timeout(60_000),
    })
  ).json()) as Types
const hub = new Hub()
const clients = makeClients(0, n, 'acct')
try {
  await sleep(500)
  // one room first, so that lazily made, once-per-process objects (JIT, caches) are in the baseline
  const warm = makeClients(n, perRoom, 'warm')
  const warmRoom = await rt.createRoom('acct-warm', perRoom + 10)
  for (const c of warm) c.room = warmRoom
  await connectAll(hub, rt, warm, 64, 30_000, (c) => c.conn?.join(c.room, c.username))
  await waitFor(() => hub.joinedCount >= warm.length, 30_000, 5)
  closeAll(warm)
  await sleep(1000)
  const rooms: string[] = []
  for (let i = 0; i < n / perRoom; i++) rooms.push(await rt.createRoom(`acct-${i}`, perRoom + 10))
  await sleep(300)
  const before = await types()
  const rss0 = memKiB(rt.serverPid).rss
  clients.forEach((c, i) => {
    c.room = rooms[Math.floor(i / perRoom)] ?? ''
  })
  const joined0 = hub.joinedCount
  const connected = await connectAll(hub, rt, clients, 128, 120_000, (c) =>
    c.conn?.join(c.room, c.username),
  )
  await waitFor(() => hub.joinedCount - joined0 >= connected, 120_000, 5)
  await sleep(2000)
  const rss1 = memKiB(rt.serverPid).rss
  const after = await types()
  const rss2 = memKiB(rt.serverPid).rss
  const per = (a: number, b: number) => ((b - a) / connected).toFixed(2)
  console.log(
    `${target}: ${connected} connections joined; heap ${per(before.heap_size / 1024, after.heap_size / 1024)} KiB/conn, ${per(before.object_count, after.object_count)} objects/conn; RSS ${per(rss0, rss1)} KiB/conn before GC, ${per(rss0, rss2)} after`,
  )
  const keys = new Set([...Object.keys(before.types), ...Object.keys(after.types)])
  const rows = [...keys]
    .map((k) => [k, ((after.types[k] ?? 0) - (before.types[k] ?? 0)) / connected] as const)
    .filter(([, d]) => Math.abs(d) >= 0.05)
    .sort((a, b) => b[1] - a[1])
  for (const [k, d] of rows) console.log(`${d.toFixed(2).padStart(8)}  ${k}`)
  if (snapshot) {
    const res = await fetch(
      `http://127.0.0.1:${rt.probePort}/snapshot?file=heap-${target}-${n}${v8 ? '.heapsnapshot' : '.json'}${v8 ? '&format=v8' : ''}`,
    )
    console.log(await res.text())
  }
} finally {
  closeAll(clients)
  await stopTarget(rt)
}

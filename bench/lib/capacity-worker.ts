// One load-generator process of the capacity scenario (bench/lib/capacity.ts spawns several, with IPC): it holds
// whole rooms of raw WebSocket clients from one loopback source address, so that a room's sender and its members
// share this process's clock, and no process needs more than its share of file descriptors.
// Every request is answered by exactly one reply; every wait is bounded.

import type { Proto } from './clients'
import { type Client, Hub } from './clients'
import { closeAll, connectAll, makeClients, OpenLoop } from './load'
import { sleep, waitFor } from './stats'

export type WorkerRequest =
  | {
      op: 'add'
      port: number
      proto: Proto
      localAddress: string
      rooms: string[]
      perRoom: number
      tag: string
      from: number
    }
  | { op: 'probe'; ratePerRoom: number; warmS: number; durS: number; tickMs: number }
  | { op: 'close' }

export type WorkerReply =
  | {
      op: 'added'
      connected: number
      joined: number
      allJoined: boolean
      connectMs: number
      joinMs: number
    }
  | {
      op: 'probed'
      sent: number
      expected: number
      delivered: number
      hist: [number, number][]
      max: number
      behind: number
    }
  | { op: 'closed' }
  | { op: 'failed'; error: string }

/** Errors and unexpected closes so far; sent with every reply. */
export interface WorkerHealth {
  errors: number
  unexpectedCloses: number
  errorSample: string | null
  clients: number
}

const hub = new Hub()
const clients: Client[] = []

async function add(r: Extract<WorkerRequest, { op: 'add' }>): Promise<WorkerReply> {
  const fresh = makeClients(r.from, r.rooms.length * r.perRoom, r.tag)
  fresh.forEach((c, i) => {
    c.room = r.rooms[Math.floor(i / r.perRoom)] ?? ''
  })
  clients.push(...fresh)
  const want = hub.joinedCount + fresh.length
  const t0 = performance.now()
  // join as soon as each socket is open, as a real client would
  const connected = await connectAll(
    hub,
    { port: r.port, proto: r.proto, kind: 'raw', localAddress: r.localAddress },
    fresh,
    128,
    120_000,
    (c) => c.conn?.join(c.room, c.username),
  )
  const connectMs = performance.now() - t0
  const allJoined = await waitFor(
    () => hub.joinedCount >= want - (fresh.length - connected),
    120_000,
    5,
  )
  return {
    op: 'added',
    connected,
    joined: fresh.filter((c) => c.joined).length,
    allJoined: allJoined && connected === fresh.length,
    connectMs: Math.round(connectMs),
    joinMs: Math.round(performance.now() - t0),
  }
}

/** One sender per room sends `ratePerRoom` messages per second; deliveries to every member are timed. */
async function probe(r: Extract<WorkerRequest, { op: 'probe' }>): Promise<WorkerReply> {
  const senders = new Map<string, Client>()
  for (const c of clients) if (c.joined && !c.closed && !senders.has(c.room)) senders.set(c.room, c)
  const loop = new OpenLoop(hub, r.ratePerRoom, r.tickMs)
  loop.setClients([...senders.values()])
  loop.start()
  try {
    await sleep(r.warmS * 1000)
    const t0 = Math.round(performance.now() * 1000)
    hub.openWindow(t0, t0 + r.durS * 1e6)
    await sleep(r.durS * 1000)
  } finally {
    loop.stop()
  }
  await waitFor(() => hub.delivered >= hub.expected, 2000, 10)
  return {
    op: 'probed',
    sent: hub.sent,
    expected: hub.expected,
    delivered: hub.delivered,
    hist: hub.hist.toSparse(),
    max: hub.hist.max,
    behind: loop.behindResets,
  }
}

function health(): WorkerHealth {
  return {
    errors: hub.errors,
    unexpectedCloses: hub.unexpectedCloses,
    errorSample: hub.errorSamples[0] ?? null,
    clients: clients.length,
  }
}

process.on('message', (req: WorkerRequest) => {
  const run = async (): Promise<WorkerReply> => {
    if (req.op === 'add') return add(req)
    if (req.op === 'probe') return probe(req)
    closeAll(clients)
    return { op: 'closed' }
  }
  run().then(
    (reply) => {
      process.send?.({ ...reply, health: health() })
      if (reply.op === 'closed') setTimeout(() => process.exit(0), 200)
    },
    (e) => process.send?.({ op: 'failed', error: String(e), health: health() }),
  )
})

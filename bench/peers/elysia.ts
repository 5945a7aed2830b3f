// Floor peer: the bare-Bun peer's protocol behind one Elysia `.ws()` route, to measure what Elysia's wrapper itself
// keeps per socket. ELYSIA_WS_DATA=slim swaps each socket's `ws.data` (Elysia's per-socket context, handlers and
// closures) for one small object with shared handlers at `open`, to measure what that saves.
// Run: PORT=4000 bun bench/peers/elysia.ts   (listens on 127.0.0.1 only; BENCH_PROBE_PORT adds the memory probe)
import type { ServerWebSocket } from 'bun'
import { Elysia } from 'elysia'
import { startProbe } from '../lib/probe.ts'

type Room = { users: Map<string, number>; history: unknown[]; seq: number }
type Raw = ServerWebSocket<unknown>
type Frame = { action?: string; room?: string; username?: string; content?: string }

const rooms = new Map<string, Room>()
const joinedRooms = new WeakMap<object, Map<string, string>>()
const room = (id: string): Room => {
  let r = rooms.get(id)
  if (!r) {
    r = { users: new Map(), history: [], seq: 0 }
    rooms.set(id, r)
  }
  return r
}
const userList = (r: Room) =>
  [...r.users.keys()].map((username) => ({ username, status: 'online', moderator: false }))

function onMessage(ws: Raw, m: Frame): void {
  const id = String(m.room ?? '')
  const mine = joinedRooms.get(ws) ?? new Map<string, string>()
  joinedRooms.set(ws, mine)
  if (m.action === 'join') {
    const name = String(m.username ?? '')
    const r = room(id)
    r.users.set(name, (r.users.get(name) ?? 0) + 1)
    mine.set(id, name)
    ws.send(JSON.stringify({ type: 'joined', room: id, users: userList(r), history: r.history }))
    ws.publish(id, JSON.stringify({ type: 'user_joined', room: id, username: name }))
    ws.subscribe(id)
  } else if (m.action === 'message') {
    const sender = mine.get(id)
    const r = rooms.get(id)
    if (sender === undefined || !r)
      return void ws.send('{"type":"error","code":"not_in_room","message":"join first"}')
    const msg = {
      type: 'message',
      room: id,
      id: String(++r.seq),
      sender,
      content: String(m.content),
      ts: Date.now(),
    }
    r.history.push(msg)
    if (r.history.length > 100) r.history.shift()
    app.server?.publish(id, JSON.stringify(msg))
  }
}

function onClose(ws: Raw): void {
  for (const [id, name] of joinedRooms.get(ws) ?? []) {
    const r = rooms.get(id)
    if (!r) continue
    const n = (r.users.get(name) ?? 1) - 1
    if (n > 0) r.users.set(name, n)
    else r.users.delete(name)
    app.server?.publish(id, JSON.stringify({ type: 'user_left', room: id, username: name }))
  }
}

// The slim `ws.data`: Elysia's global websocket handler calls ws.data.message / close / drain / ping / pong.
const slim = {
  message(ws: Raw, raw: string | Buffer) {
    try {
      onMessage(ws, JSON.parse(String(raw)))
    } catch {
      ws.send('{"type":"error","code":"bad_json","message":"invalid JSON"}')
    }
  },
  close: onClose,
}

const app = new Elysia()
  .get('/health', () => ({ ok: true }))
  .ws('/ws', {
    open(ws) {
      if (process.env.ELYSIA_WS_DATA === 'slim') (ws.raw as unknown as Raw).data = slim
    },
    message(ws, m) {
      onMessage(ws.raw as unknown as Raw, m as Frame)
    },
    close(ws) {
      onClose(ws.raw as unknown as Raw)
    },
  })
  .listen({ port: Number(process.env.PORT ?? 4000), hostname: '127.0.0.1' })

startProbe()
process.on('SIGTERM', () => {
  app.server?.stop(true)
  process.exit(0)
})

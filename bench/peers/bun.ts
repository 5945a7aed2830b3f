// Ceiling peer: bare Bun.serve, ws.subscribe / server.publish, JSON.parse only. Same JSON protocol as the project.
// Run: PORT=4000 bun bench/peers/bun.ts   (listens on 127.0.0.1 only; BENCH_PROBE_PORT adds the memory probe)
import { startProbe } from '../lib/probe.ts'

type Data = { rooms: Map<string, string> } // room -> username
type Room = { users: Map<string, number>; history: unknown[]; seq: number }

const rooms = new Map<string, Room>()
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

const server = Bun.serve<Data>({
  hostname: '127.0.0.1',
  port: Number(process.env.PORT ?? 4000),
  fetch(req, srv) {
    const { pathname } = new URL(req.url)
    if (pathname === '/ws' && srv.upgrade(req, { data: { rooms: new Map() } })) return
    if (pathname === '/health') return Response.json({ ok: true })
    return new Response('not found', { status: 404 })
  },
  websocket: {
    message(ws, raw) {
      let m: { action?: string; room?: string; username?: string; content?: string }
      try {
        m = JSON.parse(String(raw))
      } catch {
        ws.send('{"type":"error","code":"bad_json","message":"invalid JSON"}')
        return
      }
      const id = String(m.room ?? '')
      if (m.action === 'join') {
        const name = String(m.username ?? '')
        const r = room(id)
        r.users.set(name, (r.users.get(name) ?? 0) + 1)
        ws.data.rooms.set(id, name)
        ws.send(
          JSON.stringify({ type: 'joined', room: id, users: userList(r), history: r.history }),
        )
        ws.publish(id, JSON.stringify({ type: 'user_joined', room: id, username: name }))
        ws.subscribe(id)
      } else if (m.action === 'message') {
        const sender = ws.data.rooms.get(id)
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
        server.publish(id, JSON.stringify(msg))
      }
    },
    close(ws) {
      for (const [id, name] of ws.data.rooms) {
        const r = rooms.get(id)
        if (!r) continue
        const n = (r.users.get(name) ?? 1) - 1
        if (n > 0) r.users.set(name, n)
        else r.users.delete(name)
        server.publish(id, JSON.stringify({ type: 'user_left', room: id, username: name }))
      }
    },
  },
})
startProbe()
process.on('SIGTERM', () => {
  server.stop(true)
  process.exit(0)
})

// Peer: Node + the `ws` package, same JSON protocol. Run: PORT=4001 node bench/peers/node-ws.mjs (127.0.0.1 only).
// @ts-check
import { createServer } from 'node:http'
import { WebSocketServer } from 'ws'

/** @typedef {{ members: Set<import("ws").WebSocket>, users: Map<string, number>, history: unknown[], seq: number }} Room */
/** @type {Map<string, Room>} */
const rooms = new Map()
/** @type {WeakMap<import("ws").WebSocket, Map<string, string>>} */
const joined = new WeakMap()
/** @param {string} id */
const room = (id) => {
  let r = rooms.get(id)
  if (!r) {
    r = { members: new Set(), users: new Map(), history: [], seq: 0 }
    rooms.set(id, r)
  }
  return r
}
/** Encode once, send the same bytes to every member. @param {Room} r @param {string} data @param {import("ws").WebSocket | null} except */
const broadcast = (r, data, except) => {
  const buf = Buffer.from(data)
  for (const m of r.members) if (m !== except) m.send(buf, { binary: false })
}

const http = createServer((req, res) => {
  res.writeHead(req.url === '/health' ? 200 : 404, { 'content-type': 'application/json' })
  res.end(req.url === '/health' ? '{"ok":true}' : '{"error":"not found"}')
})
const wss = new WebSocketServer({ server: http, path: '/ws', perMessageDeflate: false })
wss.on('connection', (ws) => {
  /** @type {Map<string, string>} */
  const mine = new Map()
  joined.set(ws, mine)
  ws.on('message', (raw) => {
    let m
    try {
      m = JSON.parse(String(raw))
    } catch {
      return ws.send('{"type":"error","code":"bad_json","message":"invalid JSON"}')
    }
    const id = String(m.room ?? '')
    if (m.action === 'join') {
      const name = String(m.username ?? '')
      const r = room(id)
      r.users.set(name, (r.users.get(name) ?? 0) + 1)
      mine.set(id, name)
      const users = [...r.users.keys()].map((username) => ({
        username,
        status: 'online',
        moderator: false,
      }))
      ws.send(JSON.stringify({ type: 'joined', room: id, users, history: r.history }))
      broadcast(r, JSON.stringify({ type: 'user_joined', room: id, username: name }), null)
      r.members.add(ws)
    } else if (m.action === 'message') {
      const sender = mine.get(id)
      const r = rooms.get(id)
      if (sender === undefined || !r)
        return ws.send('{"type":"error","code":"not_in_room","message":"join first"}')
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
      broadcast(r, JSON.stringify(msg), null)
    }
  })
  ws.on('close', () => {
    for (const [id, name] of mine) {
      const r = rooms.get(id)
      if (!r) continue
      r.members.delete(ws)
      const n = (r.users.get(name) ?? 1) - 1
      if (n > 0) r.users.set(name, n)
      else r.users.delete(name)
      broadcast(r, JSON.stringify({ type: 'user_left', room: id, username: name }), null)
    }
  })
})
http.listen(Number(process.env.PORT ?? 4001), '127.0.0.1')
process.on('SIGTERM', () => process.exit(0))

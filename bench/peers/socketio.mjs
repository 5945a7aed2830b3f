// Peer: Socket.IO 4 (socket.join, io.to(room).emit). Same events as the JSON protocol, as Socket.IO events.
// Run: PORT=4002 node bench/peers/socketio.mjs (127.0.0.1 only). Client events: "join" {room, username}, "message" {room, content}.
// @ts-check
import { createServer } from 'node:http'
import { Server } from 'socket.io'

/** @type {Map<string, { users: Map<string, number>, history: unknown[], seq: number }>} */
const rooms = new Map()
/** @param {string} id */
const room = (id) => {
  let r = rooms.get(id)
  if (!r) {
    r = { users: new Map(), history: [], seq: 0 }
    rooms.set(id, r)
  }
  return r
}

const http = createServer((req, res) => {
  if (req.url === '/health') {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end('{"ok":true}')
  } else if (!req.url?.startsWith('/socket.io')) {
    res.writeHead(404)
    res.end()
  }
})
const io = new Server(http, {
  transports: ['websocket'],
  perMessageDeflate: false,
  serveClient: false,
})
io.on('connection', (socket) => {
  /** @type {Map<string, string>} */
  const mine = new Map()
  socket.on('join', (/** @type {{room?: string, username?: string}} */ m) => {
    const id = String(m?.room ?? '')
    const name = String(m?.username ?? '')
    const r = room(id)
    r.users.set(name, (r.users.get(name) ?? 0) + 1)
    mine.set(id, name)
    const users = [...r.users.keys()].map((username) => ({
      username,
      status: 'online',
      moderator: false,
    }))
    socket.emit('joined', { type: 'joined', room: id, users, history: r.history })
    socket.to(id).emit('user_joined', { type: 'user_joined', room: id, username: name })
    socket.join(id)
  })
  socket.on('message', (/** @type {{room?: string, content?: string}} */ m) => {
    const id = String(m?.room ?? '')
    const sender = mine.get(id)
    const r = rooms.get(id)
    if (sender === undefined || !r)
      return socket.emit('error_', { type: 'error', code: 'not_in_room', message: 'join first' })
    const msg = {
      type: 'message',
      room: id,
      id: String(++r.seq),
      sender,
      content: String(m?.content),
      ts: Date.now(),
    }
    r.history.push(msg)
    if (r.history.length > 100) r.history.shift()
    io.to(id).emit('message', msg)
  })
  socket.on('disconnect', () => {
    for (const [id, name] of mine) {
      const r = rooms.get(id)
      if (!r) continue
      const n = (r.users.get(name) ?? 1) - 1
      if (n > 0) r.users.set(name, n)
      else r.users.delete(name)
      io.to(id).emit('user_left', { type: 'user_left', room: id, username: name })
    }
  })
})
http.listen(Number(process.env.PORT ?? 4002), '127.0.0.1')
process.on('SIGTERM', () => process.exit(0))

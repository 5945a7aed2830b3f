// Peer: Socket.IO 4 on several Node processes sharing rooms through Redis with @socket.io/redis-adapter (pub/sub
// adapter, the default one), the client being ioredis as in the adapter's README ("With the ioredis package").
// The same events as bench/peers/socketio.mjs; each process keeps its own member list and history (only broadcasts
// cross Redis: one PUBLISH per io.to(room).emit, received by every other process through a pattern subscription).
// Run: PORT=4003 REDIS_URL=redis://127.0.0.1:6379 node bench/peers/socketio-redis.mjs (127.0.0.1 only).
// @ts-check
import { createServer } from 'node:http'
import { createAdapter } from '@socket.io/redis-adapter'
import { Redis } from 'ioredis'
import { Server } from 'socket.io'

const url = process.env.REDIS_URL ?? ''
if (!/^redis:\/\/(127\.0\.0\.1|localhost|\[::1\]):\d+$/.test(url)) {
  console.error(`REDIS_URL must be redis://127.0.0.1:PORT (loopback), got "${url}"`)
  process.exit(1)
}
const pubClient = new Redis(url)
const subClient = pubClient.duplicate()
for (const c of [pubClient, subClient]) c.on('error', (e) => console.error(`redis: ${e.message}`))

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

// /health answers 200 only once both Redis connections are ready, so the bench measures a joined cluster
const ready = () => pubClient.status === 'ready' && subClient.status === 'ready'
const http = createServer((req, res) => {
  if (req.url === '/health') {
    res.writeHead(ready() ? 200 : 503, { 'content-type': 'application/json' })
    res.end(`{"ok":${ready()}}`)
  } else if (!req.url?.startsWith('/socket.io')) {
    res.writeHead(404)
    res.end()
  }
})
const io = new Server(http, {
  transports: ['websocket'],
  perMessageDeflate: false,
  serveClient: false,
  adapter: createAdapter(pubClient, subClient),
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
http.listen(Number(process.env.PORT ?? 4003), '127.0.0.1')
process.on('SIGTERM', () => {
  pubClient.disconnect()
  subClient.disconnect()
  process.exit(0)
})

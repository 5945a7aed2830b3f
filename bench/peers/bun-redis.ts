// Floor peer for the cluster scenario: bare Bun.serve (as bench/peers/bun.ts) on several processes bridged by Redis,
// one PUBLISH per message to the room's channel; every node (the sender's too) delivers what its subscription
// receives with server.publish. No shared sequence or history (each node keeps its own): only the bridge is measured.
// REDIS_CLIENT=native (Bun's built-in RedisClient, the default) or ioredis (the client the project uses), to tell
// the cost of the client library from the cost of the bridge.
// Run: PORT=4004 REDIS_URL=redis://127.0.0.1:6379 [REDIS_CLIENT=ioredis] bun bench/peers/bun-redis.ts
import Redis from 'ioredis'

type Data = { rooms: Map<string, string> } // room -> username
type Room = { users: Map<string, number>; history: unknown[]; seq: number }

const url = process.env.REDIS_URL ?? ''
if (!/^redis:\/\/(127\.0\.0\.1|localhost|\[::1\]):\d+$/.test(url)) {
  console.error(`REDIS_URL must be redis://127.0.0.1:PORT (loopback), got "${url}"`)
  process.exit(1)
}
const CHANNEL = 'bench:room:'

interface Bridge {
  ready(): boolean
  publish(channel: string, text: string): void
  subscribe(channel: string): void
  close(): void
}

function nativeBridge(onMessage: (channel: string, text: string) => void): Bridge {
  const pub = new Bun.RedisClient(url)
  const sub = new Bun.RedisClient(url)
  let up = false
  Promise.all([pub.connect(), sub.connect()]).then(
    () => {
      up = true
    },
    (e) => console.error(`redis: ${e}`),
  )
  return {
    ready: () => up,
    publish: (ch, text) => void pub.publish(ch, text).catch(() => {}),
    subscribe: (ch) => void sub.subscribe(ch, (text, c) => onMessage(c, text)).catch(() => {}),
    close: () => {
      pub.close()
      sub.close()
    },
  }
}

function ioredisBridge(onMessage: (channel: string, text: string) => void): Bridge {
  const pub = new Redis(url)
  const sub = pub.duplicate()
  for (const c of [pub, sub]) c.on('error', (e) => console.error(`redis: ${e.message}`))
  sub.on('message', onMessage)
  return {
    ready: () => pub.status === 'ready' && sub.status === 'ready',
    publish: (ch, text) => void pub.publish(ch, text).catch(() => {}),
    subscribe: (ch) => void sub.subscribe(ch).catch(() => {}),
    close: () => {
      pub.disconnect()
      sub.disconnect()
    },
  }
}

const rooms = new Map<string, Room>()
const subscribed = new Set<string>()
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

const deliver = (channel: string, text: string) =>
  server.publish(channel.slice(CHANNEL.length), text)
const bridge =
  process.env.REDIS_CLIENT === 'ioredis' ? ioredisBridge(deliver) : nativeBridge(deliver)

const server = Bun.serve<Data>({
  hostname: '127.0.0.1',
  port: Number(process.env.PORT ?? 4004),
  fetch(req, srv) {
    const { pathname } = new URL(req.url)
    if (pathname === '/ws' && srv.upgrade(req, { data: { rooms: new Map() } })) return
    if (pathname === '/health')
      return Response.json({ ok: bridge.ready() }, { status: bridge.ready() ? 200 : 503 })
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
        if (!subscribed.has(id)) {
          subscribed.add(id)
          bridge.subscribe(CHANNEL + id)
        }
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
        bridge.publish(CHANNEL + id, JSON.stringify(msg))
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
process.on('SIGTERM', () => {
  bridge.close()
  server.stop(true)
  process.exit(0)
})

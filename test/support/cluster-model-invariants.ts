/**
 * The invariants of the cluster model (see test/support/cluster-model.ts), checked after
 * every step: the frames each connection got, the order of messages, and the REST views of
 * both nodes against each other and the model.
 */
import { sessionHash } from '../../src/cluster/keys.ts'
import { ERRORS } from '../../src/protocol/errors.ts'
import type { ChatNode } from './cluster.ts'
import { type Conn, type HttpReply, ModelFailure, pad, until } from './cluster-model-state.ts'
import { ModelTime } from './cluster-model-time.ts'
import type { Frame } from './ws-client.ts'

export class ModelInvariants extends ModelTime {
  /**
   * After the last step: every session record in Redis is a live session's, or will go by
   * itself (it has an expiry). None of a session that expired, was spent by a resume or was
   * removed from its rooms while away is kept for ever.
   */
  async finish(): Promise<void> {
    await this.settle()
    const live = new Set(
      this.sessions.filter((s) => !s.expired).map((s) => `chat:sess:${sessionHash(s.token)}`),
    )
    let kept: { key: string; record: Record<string, string> }[] = []
    try {
      await until('records of dead sessions to expire', async () => {
        kept = await this.probes.keptRecords(live)
        return kept.length === 0
      })
    } catch {
      this.fail(`records of dead sessions kept in Redis for ever: ${JSON.stringify(kept)}`)
    }
  }

  /**
   * After every step: each connection got exactly the event frames the model says (no
   * more, none missing), message ids in order with no gaps or duplicates and the same at
   * every member; the REST views the same on both nodes and equal to the model; no error
   * logged by either node.
   */
  async check(): Promise<void> {
    await this.settle()
    await this.checkFrames()
    await this.barrier()
    for (const c of this.conns) if (c.open) this.consume(c)
    this.checkMessageOrder()
    await this.checkRest()
    for (const n of this.nodes) {
      if (n.problems().length > 0) this.fail(`node ${n.id} logged errors`)
    }
  }

  protected consume(conn: Conn): void {
    const frames = conn.client.frames
    for (; conn.cursor < frames.length; conn.cursor++) {
      const f = frames[conn.cursor] as Frame
      let k: string
      switch (f.type) {
        case 'welcome':
        case 'joined':
        case 'resumed':
        case 'left':
        case 'moderated':
        case 'history':
        case 'pong':
          continue
        case 'error':
          if (!(f.code in ERRORS))
            this.fail(`${conn.label}: unknown error code ${JSON.stringify(f)}`)
          if (f.ref === undefined) this.fail(`${conn.label}: unasked error ${JSON.stringify(f)}`)
          continue
        case 'message':
          k = `message|${f.room}|${f.id}|${f.sender}|${f.content}`
          this.track(conn, f, true)
          break
        case 'system':
          k = `system|${f.room}|${f.id}|${f.content}`
          this.track(conn, f, false)
          break
        case 'user_joined':
        case 'user_left':
          k = `${f.type}|${f.room}|${f.username}`
          break
        case 'presence':
          k = `presence|${f.room}|${f.username}|${f.status}`
          break
        case 'typing':
          k = `typing|${f.room}|${f.username}|${f.active}`
          break
        case 'kicked':
        case 'banned':
          k = `${f.type}|${f.room}|${f.by}`
          break
        default:
          this.fail(`${conn.label}: unexpected frame ${JSON.stringify(f)}`)
      }
      const n = (conn.received.get(k) ?? 0) + 1
      conn.received.set(k, n)
      if (n > (conn.expected.get(k) ?? 0))
        this.fail(`${conn.label} got a frame the model does not expect: ${JSON.stringify(f)}`)
    }
  }

  /** Message and system ids of a room reach a session in strictly increasing order. */
  protected track(conn: Conn, f: Frame, isMessage: boolean): void {
    const member = conn.session.rooms.get(f.room)
    if (!member) return
    const id = Number(f.id)
    if (!(id > member.lastId))
      this.fail(
        `${conn.label}: id ${f.id} in ${f.room} after ${pad(member.lastId)} (out of order or twice)`,
      )
    member.lastId = id
    if (isMessage) member.ids.push(id)
  }

  protected missing(conn: Conn): string[] {
    const out: string[] = []
    for (const [k, n] of conn.expected) {
      const got = conn.received.get(k) ?? 0
      if (got < n) out.push(`${k} (${got}/${n})`)
    }
    return out
  }

  protected async checkFrames(): Promise<void> {
    const open = () => this.conns.filter((c) => c.open)
    try {
      await until('every expected frame', () => {
        for (const c of open()) this.consume(c)
        return open().every((c) => this.missing(c).length === 0)
      })
    } catch (e) {
      if (!(e instanceof ModelFailure) || !e.message.startsWith('timed out')) throw e
      const lines = open()
        .map((c) => [c.label, this.missing(c)] as const)
        .filter(([, m]) => m.length > 0)
        .map(([label, m]) => `${label} is missing ${m.join(', ')}`)
      this.fail(`frames never came:\n${lines.join('\n')}`)
    }
    // Unexpected close of a socket we hold open (flood, idle, 4001 by mistake).
    for (const c of open()) {
      if (c.client.ws.readyState !== WebSocket.OPEN)
        this.fail(`${c.label} was closed by the server`)
    }
  }

  /**
   * The sentinel that proves a frame was not sent, across nodes: a `pong` that reaches each
   * online member of each room through the room's delivery path (ModelProbes.sentinel: on
   * Redis an event envelope on the room's channel, relayed by every node; in memory a ping
   * on each member's socket). Anything sent before it has been sent by then; on Redis every
   * online member getting it also proves that its node holds it subscribed to the room.
   */
  protected async barrier(): Promise<void> {
    const waits: Promise<unknown>[] = []
    for (const room of this.rooms.values()) {
      if (!room.exists) continue
      const ref = `barrier-${this.step}-${room.id}`
      for (const m of room.online()) {
        const conn = m.session.conn
        if (!conn) continue
        waits.push(
          conn.client
            .next('pong', (f) => f.ref === ref)
            .catch(() => {
              this.fail(`${conn.label} (${m.username}) did not get the sentinel of ${room.id}`)
            }),
        )
      }
      const members = room.online().flatMap((m) => (m.session.conn ? [m.session.conn.client] : []))
      await this.probes.sentinel(room.id, ref, members)
    }
    await Promise.all(waits)
  }

  /**
   * Every online member of a room has received every text message since it joined, in one
   * order, and any two members agree on the messages both were there for.
   */
  protected checkMessageOrder(): void {
    for (const room of this.rooms.values()) {
      const texts = room.history
        .map((m, i) => ({ ...m, seq: i + 1 }))
        .filter((m) => m.type === 'text')
        .map((m) => m.seq)
      const members = room.online()
      for (const m of members) {
        const want = texts.filter((s) => s > m.since)
        if (!Bun.deepEquals(m.ids, want))
          this.fail(
            `${m.username} in ${room.id} got messages ${m.ids.join(',')}, history has ${want.join(',')}`,
          )
      }
      for (const a of members) {
        for (const b of members) {
          const from = Math.max(a.since, b.since)
          const x = a.ids.filter((s) => s > from)
          const y = b.ids.filter((s) => s > from)
          if (!Bun.deepEquals(x, y))
            this.fail(`${a.username} and ${b.username} in ${room.id} disagree: ${x} vs ${y}`)
        }
      }
    }
  }

  /** The same GET on both nodes. */
  protected async getBoth(
    path: string,
    headers?: Record<string, string>,
  ): Promise<[HttpReply, HttpReply]> {
    const get = async (n: ChatNode): Promise<HttpReply> => {
      const res = await fetch(`${n.httpUrl}${path}`, { headers })
      return { status: res.status, body: (await res.json()) as Frame }
    }
    const [a, b] = this.nodes
    if (!a || !b) throw new Error('two nodes')
    return Promise.all([get(a), get(b)])
  }

  protected async checkRest(): Promise<void> {
    const [la, lb] = await this.getBoth('/rooms')
    if (!Bun.deepEquals(la, lb))
      this.fail(`GET /rooms differs between nodes: ${JSON.stringify(la)} vs ${JSON.stringify(lb)}`)
    const listed = (la.body.rooms as Frame[]).map((r) => ({
      id: r.id,
      name: r.name,
      is_private: r.is_private,
      max_users: r.max_users,
      user_count: r.user_count,
    }))
    const want = [...this.rooms.values()]
      .filter((r) => r.exists && !r.isPrivate)
      .sort((a, b) => a.id.localeCompare(b.id))
      .map((r) => ({
        id: r.id,
        name: r.name,
        is_private: false,
        max_users: r.maxUsers,
        user_count: r.members.size,
      }))
    if (!Bun.deepEquals(listed, want))
      this.fail(`GET /rooms: ${JSON.stringify(listed)}, model ${JSON.stringify(want)}`)
    for (const room of this.rooms.values()) {
      const [da, db] = await this.getBoth(`/rooms/${room.id}`)
      if (!Bun.deepEquals(da, db))
        this.fail(`GET /rooms/${room.id} differs: ${JSON.stringify(da)} vs ${JSON.stringify(db)}`)
      if (!room.exists) {
        if (da.status !== 404) this.fail(`GET /rooms/${room.id}: ${da.status}, model: no such room`)
        continue
      }
      const body = da.body
      const got = { count: body.user_count, users: body.users, is_private: body.is_private }
      const model = {
        count: room.members.size,
        users: room.isPrivate ? undefined : room.users(),
        is_private: room.isPrivate,
      }
      if (!Bun.deepEquals(got, model))
        this.fail(`GET /rooms/${room.id}: ${JSON.stringify(got)}, model ${JSON.stringify(model)}`)
      const auth: Record<string, string> = room.token
        ? { authorization: `Bearer ${room.token}` }
        : {}
      if (room.isPrivate && !room.token) continue
      const [ha, hb] = await this.getBoth(`/rooms/${room.id}/messages?limit=100`, auth)
      if (!Bun.deepEquals(ha, hb))
        this.fail(
          `history of ${room.id} differs between nodes: ${JSON.stringify(ha)} vs ${JSON.stringify(hb)}`,
        )
      const stored = (ha.body.messages as Frame[]).map((m) => [m.id, m.type, m.sender, m.content])
      const modelStored = this.storedOf(room).map((m) => [m.id, m.type, m.sender, m.content])
      if (!Bun.deepEquals(stored, modelStored))
        this.fail(
          `history of ${room.id}: ${JSON.stringify(stored)}, model ${JSON.stringify(modelStored)}`,
        )
    }
  }
}

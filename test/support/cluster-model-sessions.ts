/**
 * The cluster model's commands about connections and sessions (see
 * test/support/cluster-model.ts): drop, node restart, a fresh connection, resume (a
 * takeover too) and the refused resume with a spent token.
 */

import { RoomCommands } from './cluster-model-rooms.ts'
import { CATCH_UP_MS, type Command, Conn, pad, Session } from './cluster-model-state.ts'
import { type Frame, TestClient } from './ws-client.ts'

export class SessionCommands extends RoomCommands {
  /** Closes the slot's socket (a drop): its members go offline and their grace starts. */
  protected async drop(ci: number): Promise<void> {
    const slot = this.slotFor(ci, (s) => (s.conn?.session.rooms.size ?? 0) > 0)
    const conn = slot.conn
    if (!conn) return
    const at = Date.now()
    conn.client.close(1000)
    this.closed(conn)
    const members = this.gone(conn.session, at)
    this.outcome('drop', members.length > 0 ? 'in rooms' : 'in no room')
    await this.offline(members)
  }

  /**
   * A rolling restart of one node: SIGTERM, every client of it gets `shutdown` and a 1001
   * close (its members go offline, as on a drop), the process exits 0 and starts again.
   * Those clients come back on the other node at their next step.
   */
  protected async restart(cmd: Extract<Command, { kind: 'restart' }>): Promise<void> {
    const index = cmd.node % 2
    const node = this.nodes[index]
    if (!node) return
    // The new process starts a fresh log: check the old one first.
    if (node.problems().length > 0) this.fail(`node ${node.id} logged errors`)
    const leaving = this.conns.filter((c) => c.open && c.node === index)
    const at = Date.now()
    // All its sockets close at once: none of them hears about the others going.
    for (const c of leaving) this.closed(c)
    const members = leaving.flatMap((c) => this.gone(c.session, at))
    const code = await node.stop('SIGTERM')
    if (code !== 0) this.fail(`node ${node.id} exited with ${code} after SIGTERM`)
    for (const c of leaving) {
      const closed = await Promise.race([c.client.closed, Bun.sleep(CATCH_UP_MS)])
      const shutdown = c.client.frames.filter((f) => f.type === 'shutdown')
      if (closed?.code !== 1001 || shutdown.length !== 1)
        this.fail(`${c.label}: closed ${JSON.stringify(closed)} after ${JSON.stringify(shutdown)}`)
    }
    this.outcome('restart', `${leaving.length} clients`)
    // ChatNode.start() keeps the old port and would wait for it: the new process has another.
    node.port = 0
    await node.start()
    await this.offline(members)
  }

  /** A fresh connection (and session) for the slot; an open one is dropped first. */
  protected async connect(cmd: Extract<Command, { kind: 'connect' }>): Promise<void> {
    const slot = this.slot(cmd.ci)
    if (slot.conn) await this.drop(cmd.ci)
    const conn = await this.open(cmd.node % 2, `c${slot.index}`)
    slot.conn = conn
    slot.session = conn.session
    slot.lastNode = conn.node
  }

  /** The slot resumes its session on a new connection (a takeover if the old one is open). */
  protected async resume(cmd: Extract<Command, { kind: 'resume' }>): Promise<void> {
    const slot = this.slot(cmd.ci)
    const session = slot.session
    const old = slot.conn
    const node = cmd.node % 2
    const target = this.nodes[node]
    if (!target) return
    const client = await TestClient.connect(target.wsUrl)
    const conn = new Conn(client, node, session, `c${slot.index}@n${node}`)
    this.conns.push(conn)
    if (!old) slot.lastNode = node
    const lastIds: Record<string, string> = {}
    for (const [id, m] of session.rooms) lastIds[id] = pad(m.lastId)
    const ref = `resume-${this.step}`
    const spentToken = session.token
    client.send({ action: 'resume', session: spentToken, last_ids: lastIds, ref })
    await client.sync()
    const replies = client.frames.filter((f) => f.ref === ref)
    const what = `resume ${old ? 'over an open socket' : 'after a drop'} on n${node} (slot ${slot.index})`
    const alive = !session.expired && (session.rooms.size > 0 || session.removed.size > 0)
    if (!alive) {
      if (
        replies.length !== 1 ||
        replies[0]?.type !== 'error' ||
        replies[0]?.code !== 'not_authorized'
      )
        this.fail(`${what}: expected one not_authorized, got ${JSON.stringify(replies)}`)
      this.outcome('resume', 'not_authorized')
      // The new connection carries on with its own fresh session.
      const fresh = new Session(++this.sessionIds, client.session)
      this.sessions.push(fresh)
      conn.session = fresh
      fresh.conn = conn
      if (old) {
        // Keep the open socket; the extra one goes (it is in no room: nothing happens).
        client.close()
        conn.open = false
        fresh.expired = true
        return
      }
      slot.conn = conn
      slot.session = fresh
      return
    }
    const takeover = old !== undefined
    // What the new connection must get: per room `resumed`, then what it missed.
    const want: Frame[] = []
    for (const [id, how] of session.removed) {
      want.push({ type: 'error', code: 'not_authorized', room: id, how })
    }
    for (const m of session.rooms.values()) {
      if (takeover) this.stopTyping(m)
      else this.broadcast(m.room, `presence|${m.room.id}|${m.username}|online`, m)
      m.online = true
    }
    session.conn = conn
    session.awaySince = undefined
    session.removed.clear()
    for (const m of session.rooms.values()) {
      want.push({
        type: 'resumed',
        room: m.room.id,
        username: m.username,
        moderator: m.moderator,
        recovered: true,
        users: m.room.users(),
      })
      for (const s of this.storedOf(m.room)) {
        if (Number(s.id) <= m.lastId) continue
        conn.expect(
          s.type === 'text'
            ? `message|${m.room.id}|${s.id}|${s.sender}|${s.content}`
            : `system|${m.room.id}|${s.id}|${s.content}`,
        )
      }
    }
    const got = replies.map((f) =>
      f.type === 'error'
        ? {
            type: 'error',
            code: f.code,
            room: f.room,
            how: /banned/.test(f.message) ? 'banned' : 'kicked',
          }
        : {
            type: f.type,
            room: f.room,
            username: f.username,
            moderator: f.moderator,
            recovered: f.recovered,
            users: f.users,
          },
    )
    const order = (f: Frame) => `${f.type}|${f.room}`
    got.sort((a, b) => order(a).localeCompare(order(b)))
    want.sort((a, b) => order(a).localeCompare(order(b)))
    if (!Bun.deepEquals(got, want))
      this.fail(`${what}: got ${JSON.stringify(got)}, model ${JSON.stringify(want)}`)
    this.outcome(
      'resume',
      `${old ? 'takeover' : 'ok'}${want.some((f) => f.type === 'error') ? ' (removed)' : ''}`,
    )
    slot.spent.push(spentToken)
    session.token = client.session
    slot.conn = conn
    if (old) {
      old.open = false
      const closed = await Promise.race([
        old.client.closed,
        Bun.sleep(CATCH_UP_MS).then(() => undefined),
      ])
      if (closed?.code !== 4001)
        this.fail(`${what}: the old socket closed with ${JSON.stringify(closed)}, not 4001`)
    }
  }

  /** Resuming with a token that was already used is refused, and changes nothing. */
  protected async resumeSpent(cmd: Extract<Command, { kind: 'resumeSpent' }>): Promise<void> {
    const slot = this.slot(cmd.ci)
    const spent = slot.spent[slot.spent.length - 1]
    const target = this.nodes[cmd.node % 2]
    if (spent === undefined || !target) return
    const client = await TestClient.connect(target.wsUrl)
    try {
      const reply = await client.request({ action: 'resume', session: spent }, ['resumed'])
      this.expectError(reply, ['not_authorized'], `resume with a spent token (slot ${slot.index})`)
      await client.sync()
      const extra = client.frames.filter(
        (f) => f.type !== 'welcome' && f.type !== 'pong' && f !== reply,
      )
      if (extra.length > 0) this.fail(`spent resume: unexpected frames ${JSON.stringify(extra)}`)
    } finally {
      client.close()
    }
  }
}

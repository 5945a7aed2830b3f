/**
 * What every part of the cluster model shares (see test/support/cluster-model.ts): the
 * cluster it runs on, the model's state, how a step fails, and the helpers the commands
 * use to pick slots and rooms, check replies and tell members what frames to expect.
 */
import { Keys } from '../../src/cluster/keys.ts'
import type { ChatNode, RedisServer } from './cluster.ts'
import type { ModelProbes } from './cluster-model-probes.ts'
import {
  CATCH_UP_MS,
  Conn,
  key,
  live,
  type Member,
  ModelFailure,
  OWN_NAMES,
  pad,
  ROOM_IDS,
  ROOM_NAMES,
  type RoomId,
  RoomModel,
  Session,
  type Slot,
  until,
} from './cluster-model-state.ts'
import { type Frame, TestClient } from './ws-client.ts'

export class ModelBase {
  protected readonly slots: Slot[] = []
  protected readonly sessions: Session[] = []
  protected readonly conns: Conn[] = []
  protected readonly rooms = new Map<RoomId, RoomModel>()
  protected readonly keys = new Keys('chat:')
  protected sessionIds = 0
  protected step = 0
  protected readonly wrongPerNode = [0, 0]
  /** What happened so far, for failure messages. */
  readonly log: string[] = []
  protected stopped = false
  protected readonly stopper = () => this.stop()
  protected stepStartedAt = 0
  /** Outcomes by command (`join:ok`, `join:username_taken`…), summed over runs. */
  static readonly outcomes = new Map<string, number>()

  protected constructor(
    protected readonly redisServer: RedisServer,
    readonly nodes: ChatNode[],
    protected readonly probes: ModelProbes,
  ) {
    for (const id of ROOM_IDS) this.rooms.set(id, new RoomModel(id))
    const general = this.room('general')
    general.exists = true
    general.permanent = true
    general.name = 'general'
  }

  /** Closes every client, stops the nodes and Redis (by PID). */
  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    live.delete(this.stopper)
    for (const c of this.conns) if (c.open) c.client.close()
    this.probes.close()
    await Promise.allSettled([...new Set(this.nodes)].map((n) => n.stop('SIGKILL')))
    await this.redisServer.stop()
  }

  protected room(id: RoomId): RoomModel {
    const r = this.rooms.get(id)
    if (!r) throw new Error(`no room ${id}`)
    return r
  }

  protected fail(message: string): never {
    const ms = Math.round(performance.now() - this.stepStartedAt)
    const logged = this.nodes.flatMap((n) => n.problems().map((line) => `${n.id}: ${line}`))
    throw new ModelFailure(
      [
        `step ${this.step} (${ms} ms in): ${message}`,
        ...(logged.length > 0 ? ['--- errors the nodes logged:', ...logged] : []),
        '--- steps so far:',
        ...this.log.slice(-25),
      ].join('\n'),
    )
  }

  /** `until`, failing with the steps so far. */
  protected async until(what: string, check: () => Promise<boolean>, ms = CATCH_UP_MS) {
    try {
      await until(what, check, ms)
    } catch (e) {
      if (e instanceof ModelFailure) this.fail(e.message)
      throw e
    }
  }

  protected async open(node: number, label: string): Promise<Conn> {
    const target = this.nodes[node]
    if (!target) throw new Error(`no node ${node}`)
    const client = await TestClient.connect(target.wsUrl)
    const session = new Session(++this.sessionIds, client.session)
    this.sessions.push(session)
    const conn = new Conn(client, node, session, `${label}@n${node}`)
    session.conn = conn
    this.conns.push(conn)
    return conn
  }

  protected slot(ci: number): Slot {
    const s = this.slots[ci % this.slots.length]
    if (!s) throw new Error('no slots')
    return s
  }

  /**
   * Mostly (by `ci`) a slot for which `fits` holds, starting at slot `ci`: a moderator for
   * moderation, a member of some room for a drop.
   */
  protected slotFor(ci: number, fits: (s: Slot) => boolean): Slot {
    const n = this.slots.length
    if (Math.floor(ci / n) % 10 < 8) {
      for (let i = 0; i < n; i++) {
        const s = this.slot(ci + i)
        if (fits(s)) {
          if (i > 0) this.log.push(`   slot: ${s.index}`)
          return s
        }
      }
    }
    return this.slot(ci)
  }

  /** Mostly one of `preferred` (if any), else any room: the command's room. */
  protected pickRoom(
    pick: number,
    preferred: RoomModel[],
    all: readonly RoomId[] = ROOM_IDS,
  ): RoomModel {
    const room =
      pick % 10 < 8 && preferred.length > 0
        ? preferred[pick % preferred.length]
        : this.room(all[pick % all.length] ?? 'general')
    if (!room) throw new Error('no room')
    this.log.push(`   room: ${room.id}`)
    return room
  }

  protected roomsOf(slot: Slot): RoomModel[] {
    return [...(slot.conn?.session.rooms.values() ?? [])].map((m) => m.room)
  }

  protected nameOf(slot: Slot, name: string): string {
    return name === 'own' ? (OWN_NAMES[slot.index] ?? 'x') : name
  }

  /** Sends `frame` and returns the reply of one of `types` or the error, by ref. */
  protected async ask(conn: Conn, frame: Frame, types: string[]): Promise<Frame> {
    return conn.client.request(frame, types)
  }

  protected outcome(kind: string, result: string): void {
    const k = `${kind}:${result}`
    ModelBase.outcomes.set(k, (ModelBase.outcomes.get(k) ?? 0) + 1)
  }

  protected expectError(reply: Frame, allowed: string[], what: string): void {
    this.outcome(what.split(' ')[0] ?? '?', String(reply.code))
    if (reply.type !== 'error' || !allowed.includes(reply.code)) {
      this.fail(`${what}: expected error ${allowed.join(' or ')}, got ${JSON.stringify(reply)}`)
    }
  }

  protected expectType(reply: Frame, type: string, what: string): void {
    this.outcome(what.split(' ')[0] ?? '?', 'ok')
    if (reply.type !== type) this.fail(`${what}: expected ${type}, got ${JSON.stringify(reply)}`)
  }

  /** Tells every online member of `room` (but `except`) to expect the frame `k`. */
  protected broadcast(room: RoomModel, k: string, except?: Member): void {
    for (const m of room.online()) if (m !== except) m.session.conn?.expect(k)
  }

  protected stopTyping(member: Member): void {
    if (!member.typing) return
    member.typing = false
    this.broadcast(member.room, `typing|${member.room.id}|${member.username}|false`, member)
  }

  /** The error for a frame about a room the session is not in. */
  protected notJoined(room: RoomModel): string {
    return room.exists ? 'not_authorized' : 'room_not_found'
  }

  protected checkJoined(reply: Frame, room: RoomModel, member: Member, what: string): void {
    const got = {
      room: reply.room,
      username: reply.username,
      moderator: reply.moderator,
      users: reply.users,
      history: (reply.history as Frame[]).map((m) => [m.id, m.type, m.sender, m.content]),
    }
    const want = {
      room: room.id,
      username: member.username,
      moderator: member.moderator,
      users: room.users(),
      history: this.storedOf(room).map((m) => [m.id, m.type, m.sender, m.content]),
    }
    if (!Bun.deepEquals(got, want))
      this.fail(`${what}: joined ${JSON.stringify(got)}, model ${JSON.stringify(want)}`)
  }

  protected storedOf(
    room: RoomModel,
  ): { id: string; type: string; sender: string; content: string }[] {
    const all = room.history.map((m, i) => ({ id: pad(i + 1), ...m }))
    return all.slice(-100)
  }

  /** A new member joins (model side): the others are told, the history notes it. */
  protected admit(room: RoomModel, session: Session, username: string, moderator: boolean): void {
    this.broadcast(room, `user_joined|${room.id}|${username}`)
    const since = room.append('system', 'system', `${username} joined`)
    const member: Member = {
      room,
      username,
      key: key(username),
      session,
      online: true,
      moderator,
      typing: false,
      since,
      lastId: since,
      ids: [],
    }
    room.members.set(member.key, member)
    room.emptySince = undefined
    session.rooms.set(room.id, member)
  }

  protected createRoom(room: RoomModel, isPrivate: boolean, maxUsers: number, token: string): void {
    room.reset()
    room.exists = true
    room.name = ROOM_NAMES[room.id]
    room.isPrivate = isPrivate
    room.maxUsers = maxUsers
    room.token = token
  }

  /** A member leaves the room for good (model side); `emptyFrom`: when the server may count it empty. */
  protected remove(member: Member, note: string, emptyFrom: number): number {
    const room = member.room
    room.members.delete(member.key)
    member.session.rooms.delete(room.id)
    const seq = room.append('system', 'system', note)
    if (room.members.size === 0 && !room.permanent) room.emptySince = emptyFrom
    return seq
  }

  protected isMuted(room: RoomModel, k: string): boolean {
    const mute = room.mutes.get(k)
    return mute !== undefined && Date.now() < mute.from + mute.ms
  }

  /** A connection is closed (model side): no slot or session holds it any more. */
  protected closed(conn: Conn): void {
    conn.open = false
    if (conn.session.conn === conn) conn.session.conn = undefined
    for (const slot of this.slots) if (slot.conn === conn) slot.conn = undefined
  }

  /** A session lost its connection at `at`: its members go offline, their grace starts. */
  protected gone(session: Session, at: number): Member[] {
    session.awaySince = at
    const members = [...session.rooms.values()]
    for (const m of members) {
      m.online = false
      this.stopTyping(m)
      this.broadcast(m.room, `presence|${m.room.id}|${m.username}|offline`)
    }
    if (members.length === 0 && session.removed.size === 0) session.expired = true
    return members
  }

  /** The node marks members offline once it has seen the close: waits for that. */
  protected async offline(members: Member[]): Promise<void> {
    const open = this.conns.filter((c) => c.open).length
    for (const m of members) {
      await this.until(`${m.username} offline in ${m.room.id}`, () =>
        this.probes.offline(m.room.id, m.key, open),
      )
    }
  }

  /** Which per-node counter a connection's node uses: one server counts for both in memory. */
  protected counterOf(node: number): number {
    return this.probes.engine === 'memory' ? 0 : node
  }
}

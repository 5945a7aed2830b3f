/**
 * The model behind test/cluster/model.test.ts: a real cluster (one redis-server, two nodes
 * as child processes, started afresh for each run), four client slots on it, and a model
 * of what the protocol says must hold. Every command is applied to both; its reply must be
 * the one the model predicts, and after every step the invariants are checked across both
 * nodes (see `ClusterModel.check`).
 *
 * Real time cannot be faked in child processes, so every deadline (resume grace, empty
 * room expiry, short mutes) has a known earliest moment (the server starts its clock after
 * we act) and the model never acts near one: `settle()` first waits until the deadline has
 * surely passed and the server has done what it says. Every step is thus deterministic.
 */
import Redis from 'ioredis'
import { Keys, sessionHash } from '../../src/cluster/keys.ts'
import { ERRORS } from '../../src/protocol/errors.ts'
import { ChatNode, RedisServer } from './cluster.ts'
import { type Frame, TestClient } from './ws-client.ts'

export const GRACE_MS = 2500
export const EMPTY_TTL_MS = 1500
export const SHORT_MUTE_MS = 1200
export const LONG_MUTE_MS = 60_000
/**
 * Longest a step (a command, its frames and the checks on both nodes) may take. No deadline
 * is let come closer than this while a step runs.
 */
const GUARD_MS = 900
/** Longest the cluster may take to act once a deadline has passed, or to deliver a frame. */
const CATCH_UP_MS = 4000

export const NODE_ENV: Record<string, string> = {
  RESUME_GRACE_MS: String(GRACE_MS),
  ROOM_EMPTY_TTL_MS: String(EMPTY_TTL_MS),
  RATE_LIMIT_PER_SEC: '1000',
  ROOM_CREATE_PER_MIN: '100000',
  // Every typing frame is broadcast (no throttle) and none times out within a run, so the
  // typing frames each member gets are exactly predictable.
  TYPING_THROTTLE_MS: '0',
  TYPING_TIMEOUT_MS: '600000',
  UNJOINED_TIMEOUT_MS: '600000',
  DEFAULT_ROOMS: 'general',
}

export const ROOM_IDS = ['general', 'alpha', 'beta'] as const
export type RoomId = (typeof ROOM_IDS)[number]
const ROOM_NAMES: Record<RoomId, string> = { general: 'general', alpha: 'Alpha', beta: 'Beta' }
/** Each slot's own username. */
export const OWN_NAMES = ['ann', 'bob', 'cy', 'dee']
const PASSWORD = 'pw'
const DEFAULT_MAX_USERS = 1000

/**
 * A random step. Rooms and moderation targets are picked by number (`pick`, `who`) among
 * the candidates the model holds at that moment (mostly the rooms the client is in, the
 * members of the room), so that most steps do something; the same commands on the same
 * model pick the same, so a failure replays.
 */
export type Command =
  | {
      kind: 'join'
      ci: number
      pick: number
      name: string
      auth: 'none' | 'token' | 'pw' | 'wrong'
    }
  | { kind: 'create'; ci: number; pick: number; name: string; password: boolean; small: boolean }
  | { kind: 'restCreate'; node: number; pick: number; password: boolean }
  | { kind: 'leave'; ci: number; pick: number }
  | { kind: 'message'; ci: number; pick: number }
  | { kind: 'typing'; ci: number; pick: number }
  | { kind: 'history'; ci: number; pick: number }
  | { kind: 'burst'; pick: number; senders: number; each: number }
  | { kind: 'drop'; ci: number }
  | { kind: 'connect'; ci: number; node: number }
  | { kind: 'resume'; ci: number; node: number }
  | { kind: 'resumeSpent'; ci: number; node: number }
  | {
      kind: 'moderate'
      ci: number
      pick: number
      who: number
      action: 'ban' | 'kick' | 'unban' | 'mute' | 'unmute'
      long: boolean
    }
  | { kind: 'restart'; node: number }
  | { kind: 'wait'; ms: number }

class Session {
  token: string
  conn: Conn | undefined
  readonly rooms = new Map<RoomId, Member>()
  /** When the drop was sent (the server's grace starts after it); undefined while online. */
  awaySince: number | undefined
  /** Rooms the session was banned or kicked from while away: told on resume. */
  readonly removed = new Map<RoomId, 'banned' | 'kicked'>()
  /** The grace ran out (or it dropped in no room): the token is dead. */
  expired = false

  constructor(
    readonly id: number,
    token: string,
  ) {
    this.token = token
  }
}

interface Member {
  room: RoomModel
  username: string
  key: string
  session: Session
  online: boolean
  moderator: boolean
  typing: boolean
  /** The sequence of the member's "joined" note: it gets every message after it. */
  since: number
  /** The last message or system id the session received in this room. */
  lastId: number
  /** Ids of the `message` frames the session received in this room, in order. */
  ids: number[]
}

interface Stored {
  type: 'text' | 'system'
  sender: string
  content: string
}

interface Mute {
  /** When the mute was sent and acknowledged: the server's start lies in between. */
  from: number
  to: number
  ms: number
}

class RoomModel {
  exists = false
  name = ''
  isPrivate = false
  maxUsers = DEFAULT_MAX_USERS
  permanent = false
  token: string | undefined
  /** In join order (the order of user lists). */
  readonly members = new Map<string, Member>()
  readonly bans = new Set<string>()
  /** Sessions banned, with the username key they were banned under. */
  readonly bannedSessions = new Map<Session, string>()
  readonly mutes = new Map<string, Mute>()
  history: Stored[] = []
  /** Earliest moment the server may count the room empty from (undefined: not empty). */
  emptySince: number | undefined

  constructor(readonly id: RoomId) {}

  append(type: Stored['type'], sender: string, content: string): number {
    this.history.push({ type, sender, content })
    return this.history.length
  }

  reset(): void {
    this.exists = false
    this.token = undefined
    this.members.clear()
    this.bans.clear()
    this.bannedSessions.clear()
    this.mutes.clear()
    this.history = []
    this.emptySince = undefined
  }

  users(): { username: string; status: string; moderator: boolean }[] {
    return [...this.members.values()].map((m) => ({
      username: m.username,
      status: m.online ? 'online' : 'offline',
      moderator: m.moderator,
    }))
  }

  online(): Member[] {
    return [...this.members.values()].filter((m) => m.online && m.session.conn?.open)
  }
}

class Conn {
  cursor = 0
  open = true
  /** Event frames (by key) this connection must get, and those it got. */
  readonly expected = new Map<string, number>()
  readonly received = new Map<string, number>()
  /** Wrong passwords tried on this connection (its bucket holds 5). */
  wrongPasswords = 0

  constructor(
    readonly client: TestClient,
    readonly node: number,
    public session: Session,
    readonly label: string,
  ) {}

  expect(key: string): void {
    this.expected.set(key, (this.expected.get(key) ?? 0) + 1)
  }
}

interface Slot {
  index: number
  conn: Conn | undefined
  /** The session this slot would resume. */
  session: Session
  spent: string[]
  /** The node of its last connection. */
  lastNode: number
}

const pad = (seq: number) => String(seq).padStart(12, '0')
const key = (name: string) => name.toLowerCase()

class ModelFailure extends Error {}

interface HttpReply {
  status: number
  body: Frame
}

/** Waits until `check` holds, polling; throws with `what` after `ms`. */
async function until(what: string, check: () => Promise<boolean> | boolean, ms = CATCH_UP_MS) {
  const end = Date.now() + ms
  for (;;) {
    if (await check()) return
    if (Date.now() > end) throw new ModelFailure(`timed out waiting for ${what}`)
    await Bun.sleep(15)
  }
}

/** How to stop what the runs started and have not stopped yet (for the test file's afterEach). */
const live = new Set<() => Promise<void>>()

export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((stop) => stop()))
}

export class ClusterModel {
  private readonly slots: Slot[] = []
  private readonly sessions: Session[] = []
  private readonly conns: Conn[] = []
  private readonly rooms = new Map<RoomId, RoomModel>()
  private readonly keys = new Keys('chat:')
  private sessionIds = 0
  private step = 0
  private readonly wrongPerNode = [0, 0]
  /** What happened so far, for failure messages. */
  readonly log: string[] = []
  private stopped = false
  private readonly stopper = () => this.stop()
  private stepStartedAt = 0
  /** Outcomes by command (`join:ok`, `join:username_taken`…), summed over runs. */
  static readonly outcomes = new Map<string, number>()

  private constructor(
    private readonly redisServer: RedisServer,
    readonly nodes: ChatNode[],
    private readonly redis: Redis,
  ) {
    for (const id of ROOM_IDS) this.rooms.set(id, new RoomModel(id))
    const general = this.room('general')
    general.exists = true
    general.permanent = true
    general.name = 'general'
  }

  /** Starts Redis, two nodes and the four client slots (slot i on node i % 2). */
  static async start(slotCount = 4): Promise<ClusterModel> {
    try {
      return await ClusterModel.startOnce(slotCount)
    } catch (e) {
      // A node slow to start on a loaded machine is not what this test is about: once more.
      console.warn(`cluster start failed (${(e as Error).message}); trying once more`)
      return ClusterModel.startOnce(slotCount)
    }
  }

  private static async startOnce(slotCount: number): Promise<ClusterModel> {
    const redisServer = new RedisServer()
    const nodes = [0, 1].map((i) => new ChatNode(redisServer, { env: NODE_ENV }, `model-${i + 1}`))
    // Until the model owns them (a test timing out mid-start must not leave them running).
    const starting = async () => {
      await Promise.allSettled(nodes.map((n) => n.stop('SIGKILL')))
      await redisServer.stop()
    }
    live.add(starting)
    try {
      await redisServer.start()
      await Promise.all(nodes.map((n) => n.start()))
      const client = new Redis(redisServer.url, { lazyConnect: true, maxRetriesPerRequest: 1 })
      await client.connect()
      const model = new ClusterModel(redisServer, nodes, client)
      live.delete(starting)
      live.add(model.stopper)
      for (let i = 0; i < slotCount; i++) {
        const conn = await model.open(i % 2, `c${i}`)
        model.slots.push({ index: i, conn, session: conn.session, spent: [], lastNode: i % 2 })
      }
      return model
    } catch (e) {
      live.delete(starting)
      await starting()
      throw e
    }
  }

  /** Closes every client, stops the nodes and Redis (by PID). */
  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    live.delete(this.stopper)
    for (const c of this.conns) if (c.open) c.client.close()
    this.redis.disconnect()
    await Promise.allSettled(this.nodes.map((n) => n.stop('SIGKILL')))
    await this.redisServer.stop()
  }

  private room(id: RoomId): RoomModel {
    const r = this.rooms.get(id)
    if (!r) throw new Error(`no room ${id}`)
    return r
  }

  private fail(message: string): never {
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
  private async until(what: string, check: () => Promise<boolean>, ms = CATCH_UP_MS) {
    try {
      await until(what, check, ms)
    } catch (e) {
      if (e instanceof ModelFailure) this.fail(e.message)
      throw e
    }
  }

  private async open(node: number, label: string): Promise<Conn> {
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

  // ── Commands ─────────────────────────────────────────────────────────────────

  /** Applies one command to the cluster and the model, then checks every invariant. */
  async apply(cmd: Command): Promise<void> {
    this.step += 1
    this.stepStartedAt = performance.now()
    await this.settle()
    this.log.push(`${this.step}. ${JSON.stringify(cmd)}`)
    if ('ci' in cmd && !['drop', 'connect', 'resume', 'resumeSpent'].includes(cmd.kind)) {
      // A dropped client comes back first, on the other node: it resumes its session, or
      // (the model knows it is dead) opens a fresh one.
      const slot = this.slot(cmd.ci)
      if (!slot.conn) {
        const node = slot.lastNode + 1
        const dead = slot.session.expired
        this.log.push(`   (slot ${slot.index} comes back: ${dead ? 'connect' : 'resume'})`)
        if (dead) await this.connect({ kind: 'connect', ci: cmd.ci, node })
        else await this.resume({ kind: 'resume', ci: cmd.ci, node })
        await this.check()
      }
    }
    switch (cmd.kind) {
      case 'join':
        await this.join(cmd)
        break
      case 'create':
        await this.create(cmd)
        break
      case 'restCreate':
        await this.restCreate(cmd)
        break
      case 'leave':
        await this.leave(cmd)
        break
      case 'message':
        await this.message(cmd)
        break
      case 'typing':
        await this.typing(cmd)
        break
      case 'history':
        await this.history(cmd)
        break
      case 'burst':
        await this.burst(cmd)
        break
      case 'drop':
        await this.drop(cmd.ci)
        break
      case 'connect':
        await this.connect(cmd)
        break
      case 'resume':
        await this.resume(cmd)
        break
      case 'resumeSpent':
        await this.resumeSpent(cmd)
        break
      case 'moderate':
        await this.moderate(cmd)
        break
      case 'restart':
        await this.restart(cmd)
        break
      case 'wait':
        await Bun.sleep(cmd.ms)
        break
    }
    await this.check()
  }

  private slot(ci: number): Slot {
    const s = this.slots[ci % this.slots.length]
    if (!s) throw new Error('no slots')
    return s
  }

  /**
   * Mostly (by `ci`) a slot for which `fits` holds, starting at slot `ci`: a moderator for
   * moderation, a member of some room for a drop.
   */
  private slotFor(ci: number, fits: (s: Slot) => boolean): Slot {
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
  private pickRoom(
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

  private roomsOf(slot: Slot): RoomModel[] {
    return [...(slot.conn?.session.rooms.values() ?? [])].map((m) => m.room)
  }

  private nameOf(slot: Slot, name: string): string {
    return name === 'own' ? (OWN_NAMES[slot.index] ?? 'x') : name
  }

  /** Sends `frame` and returns the reply of one of `types` or the error, by ref. */
  private async ask(conn: Conn, frame: Frame, types: string[]): Promise<Frame> {
    return conn.client.request(frame, types)
  }

  private outcome(kind: string, result: string): void {
    const k = `${kind}:${result}`
    ClusterModel.outcomes.set(k, (ClusterModel.outcomes.get(k) ?? 0) + 1)
  }

  private expectError(reply: Frame, allowed: string[], what: string): void {
    this.outcome(what.split(' ')[0] ?? '?', String(reply.code))
    if (reply.type !== 'error' || !allowed.includes(reply.code)) {
      this.fail(`${what}: expected error ${allowed.join(' or ')}, got ${JSON.stringify(reply)}`)
    }
  }

  private expectType(reply: Frame, type: string, what: string): void {
    this.outcome(what.split(' ')[0] ?? '?', 'ok')
    if (reply.type !== type) this.fail(`${what}: expected ${type}, got ${JSON.stringify(reply)}`)
  }

  /** Tells every online member of `room` (but `except`) to expect the frame `k`. */
  private broadcast(room: RoomModel, k: string, except?: Member): void {
    for (const m of room.online()) if (m !== except) m.session.conn?.expect(k)
  }

  private stopTyping(member: Member): void {
    if (!member.typing) return
    member.typing = false
    this.broadcast(member.room, `typing|${member.room.id}|${member.username}|false`, member)
  }

  /** The error for a frame about a room the session is not in. */
  private notJoined(room: RoomModel): string {
    return room.exists ? 'not_authorized' : 'room_not_found'
  }

  private checkJoined(reply: Frame, room: RoomModel, member: Member, what: string): void {
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

  private storedOf(
    room: RoomModel,
  ): { id: string; type: string; sender: string; content: string }[] {
    const all = room.history.map((m, i) => ({ id: pad(i + 1), ...m }))
    return all.slice(-100)
  }

  private async join(cmd: Extract<Command, { kind: 'join' }>): Promise<void> {
    const slot = this.slot(cmd.ci)
    const conn = slot.conn
    if (!conn) return
    const session = conn.session
    const room = this.pickRoom(
      cmd.pick,
      [...this.rooms.values()].filter((r) => r.exists && !session.rooms.has(r.id)),
    )
    const username = this.nameOf(slot, cmd.name)
    const k = key(username)
    const frame: Frame = { action: 'join', room: room.id, username }
    const useToken = cmd.auth === 'token' && room.exists && room.token !== undefined
    if (useToken) frame.token = room.token
    if (cmd.auth === 'pw') frame.password = PASSWORD
    if (cmd.auth === 'wrong') frame.password = 'nope'
    const what = `join ${room.id} as ${username} (${conn.label})`
    const reply = await this.ask(conn, frame, ['joined'])
    if (!room.exists) return this.expectError(reply, ['room_not_found'], what)
    const current = session.rooms.get(room.id)
    if (current) {
      if (current.key !== k) return this.expectError(reply, ['invalid_message'], what)
      this.expectType(reply, 'joined', what)
      return this.checkJoined(reply, room, current, what)
    }
    const taken = room.members.has(k)
    const full = room.members.size >= room.maxUsers
    if (!useToken && room.isPrivate) {
      if (cmd.auth === 'none') return this.expectError(reply, ['not_authorized'], what)
      if (cmd.auth === 'wrong') {
        // Which check comes first is not specified: the in-memory store answers a taken
        // name or a full room before verifying the password, the cluster after.
        const allowed = ['not_authorized']
        if (taken) allowed.push('username_taken')
        if (full) allowed.push('room_full')
        if (conn.wrongPasswords >= 5 || (this.wrongPerNode[conn.node] ?? 0) >= 20)
          allowed.push('rate_limited')
        this.expectError(reply, allowed, what)
        if (reply.code === 'not_authorized') {
          conn.wrongPasswords += 1
          this.wrongPerNode[conn.node] = (this.wrongPerNode[conn.node] ?? 0) + 1
        }
        return
      }
    }
    if (room.bans.has(k) || room.bannedSessions.has(session))
      return this.expectError(reply, ['not_authorized'], what)
    if (taken) return this.expectError(reply, ['username_taken'], what)
    if (full) return this.expectError(reply, ['room_full'], what)
    this.expectType(reply, 'joined', what)
    this.admit(room, session, username, useToken)
    const member = session.rooms.get(room.id)
    if (member) this.checkJoined(reply, room, member, what)
  }

  /** A new member joins (model side): the others are told, the history notes it. */
  private admit(room: RoomModel, session: Session, username: string, moderator: boolean): void {
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

  private async create(cmd: Extract<Command, { kind: 'create' }>): Promise<void> {
    const slot = this.slot(cmd.ci)
    const conn = slot.conn
    if (!conn) return
    const room = this.pickRoom(
      cmd.pick,
      [...this.rooms.values()].filter((r) => !r.exists),
      ['alpha', 'beta'],
    )
    const username = this.nameOf(slot, cmd.name)
    const frame: Frame = { action: 'create', name: ROOM_NAMES[room.id], username }
    if (cmd.password) frame.password = PASSWORD
    if (cmd.small) frame.max_users = 2
    const what = `create ${room.id} as ${username} (${conn.label})`
    const reply = await this.ask(conn, frame, ['joined'])
    if (room.exists) return this.expectError(reply, ['room_exists'], what)
    this.expectType(reply, 'joined', what)
    if (typeof reply.moderator_token !== 'string') this.fail(`${what}: no moderator_token`)
    this.createRoom(room, cmd.password, cmd.small ? 2 : DEFAULT_MAX_USERS, reply.moderator_token)
    this.admit(room, conn.session, username, true)
    const member = conn.session.rooms.get(room.id)
    if (member) this.checkJoined(reply, room, member, what)
  }

  private createRoom(room: RoomModel, isPrivate: boolean, maxUsers: number, token: string): void {
    room.reset()
    room.exists = true
    room.name = ROOM_NAMES[room.id]
    room.isPrivate = isPrivate
    room.maxUsers = maxUsers
    room.token = token
  }

  private async restCreate(cmd: Extract<Command, { kind: 'restCreate' }>): Promise<void> {
    const room = this.pickRoom(
      cmd.pick,
      [...this.rooms.values()].filter((r) => !r.exists),
      ['alpha', 'beta'],
    )
    const node = this.nodes[cmd.node % 2]
    if (!node) return
    const body: Frame = { name: ROOM_NAMES[room.id] }
    if (cmd.password) body.password = PASSWORD
    const sentAt = Date.now()
    const res = await fetch(`${node.httpUrl}/rooms`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    const json = (await res.json()) as Frame
    const what = `POST /rooms ${room.id} on n${cmd.node % 2}`
    if (room.exists) {
      if (res.status !== 409 || json.error?.code !== 'room_exists')
        this.fail(`${what}: expected 409 room_exists, got ${res.status} ${JSON.stringify(json)}`)
      return
    }
    if (res.status !== 201)
      this.fail(`${what}: expected 201, got ${res.status} ${JSON.stringify(json)}`)
    this.createRoom(room, cmd.password, DEFAULT_MAX_USERS, json.moderator_token)
    room.emptySince = sentAt
  }

  private async leave(cmd: Extract<Command, { kind: 'leave' }>): Promise<void> {
    const slot = this.slot(cmd.ci)
    const conn = slot.conn
    if (!conn) return
    const room = this.pickRoom(cmd.pick, this.roomsOf(slot))
    const sentAt = Date.now()
    const reply = await this.ask(conn, { action: 'leave', room: room.id }, ['left'])
    const what = `leave ${room.id} (${conn.label})`
    const member = conn.session.rooms.get(room.id)
    if (!member) return this.expectError(reply, [this.notJoined(room)], what)
    this.expectType(reply, 'left', what)
    this.stopTyping(member)
    this.remove(member, `${member.username} left`, sentAt)
    this.broadcast(room, `user_left|${room.id}|${member.username}`)
  }

  /** A member leaves the room for good (model side); `emptyFrom`: when the server may count it empty. */
  private remove(member: Member, note: string, emptyFrom: number): number {
    const room = member.room
    room.members.delete(member.key)
    member.session.rooms.delete(room.id)
    const seq = room.append('system', 'system', note)
    if (room.members.size === 0 && !room.permanent) room.emptySince = emptyFrom
    return seq
  }

  private isMuted(room: RoomModel, k: string): boolean {
    const mute = room.mutes.get(k)
    return mute !== undefined && Date.now() < mute.from + mute.ms
  }

  private async message(cmd: Extract<Command, { kind: 'message' }>): Promise<void> {
    const slot = this.slot(cmd.ci)
    const conn = slot.conn
    if (!conn) return
    const room = this.pickRoom(cmd.pick, this.roomsOf(slot))
    const content = `m${this.step}`
    const member = conn.session.rooms.get(room.id)
    const muted = member !== undefined && this.isMuted(room, member.key)
    const what = `message ${content} to ${room.id} (${conn.label})`
    const ref = `msg-${this.step}`
    const reply = conn.client.next(
      ['message', 'error'],
      (f) =>
        (f.type === 'error' && f.ref === ref) || (f.type === 'message' && f.content === content),
    )
    conn.client.send({ action: 'message', room: room.id, content, ref })
    const got = await reply
    if (!member) return this.expectError(got, [this.notJoined(room)], what)
    if (muted) return this.expectError(got, ['not_authorized'], what)
    this.expectType(got, 'message', what)
    room.mutes.delete(member.key)
    this.stopTyping(member)
    const seq = room.append('text', member.username, content)
    if (got.id !== pad(seq) || got.sender !== member.username)
      this.fail(`${what}: echo ${JSON.stringify(got)}, model id ${pad(seq)}`)
    this.broadcast(room, `message|${room.id}|${pad(seq)}|${member.username}|${content}`)
  }

  /**
   * Several online members of one room (on both nodes) send messages at once. The order
   * the cluster gives them is read from the echoed ids: one sequence with no gap, each
   * sender's messages in the order sent; every member must then get them in that order.
   */
  private async burst(cmd: Extract<Command, { kind: 'burst' }>): Promise<void> {
    const busy = [...this.rooms.values()].filter((r) => r.online().length >= 2)
    const room = this.pickRoom(cmd.pick, busy)
    const senders = room.online().slice(0, cmd.senders)
    const sends: { member: Member; content: string; reply: Promise<Frame> }[] = []
    for (let round = 0; round < cmd.each; round++) {
      for (const member of senders) {
        const conn = member.session.conn
        if (!conn) continue
        const content = `b${this.step}.${round} ${member.username}`
        const ref = `burst-${this.step}-${round}-${member.key}`
        const reply = conn.client.next(
          ['message', 'error'],
          (f) =>
            (f.type === 'error' && f.ref === ref) ||
            (f.type === 'message' && f.content === content),
        )
        sends.push({ member, content, reply })
        conn.client.send({ action: 'message', room: room.id, content, ref })
      }
    }
    const replies = await Promise.all(sends.map((x) => x.reply))
    const accepted: { member: Member; content: string; id: number }[] = []
    for (const [i, x] of sends.entries()) {
      const got = replies[i] as Frame
      const what = `burst message ${x.content} to ${room.id}`
      if (this.isMuted(room, x.member.key)) {
        this.expectError(got, ['not_authorized'], what)
        continue
      }
      this.expectType(got, 'message', what)
      accepted.push({ member: x.member, content: x.content, id: Number(got.id) })
    }
    for (const member of senders) {
      const mine = accepted.filter((a) => a.member === member).map((a) => a.id)
      if (
        !Bun.deepEquals(
          mine,
          [...mine].sort((a, b) => a - b),
        )
      )
        this.fail(`burst: ${member.username}'s messages got ids out of send order: ${mine}`)
    }
    accepted.sort((a, b) => a.id - b.id)
    for (const a of accepted) {
      room.mutes.delete(a.member.key)
      this.stopTyping(a.member)
      const seq = room.append('text', a.member.username, a.content)
      if (a.id !== seq)
        this.fail(`burst: ids ${accepted.map((x) => x.id)} are not one sequence from ${seq}`)
      this.broadcast(room, `message|${room.id}|${pad(seq)}|${a.member.username}|${a.content}`)
    }
  }

  private async typing(cmd: Extract<Command, { kind: 'typing' }>): Promise<void> {
    const slot = this.slot(cmd.ci)
    const conn = slot.conn
    if (!conn) return
    const room = this.pickRoom(cmd.pick, this.roomsOf(slot))
    const ref = `typing-${this.step}`
    conn.client.send({ action: 'typing', room: room.id, ref })
    await conn.client.sync()
    const error = conn.client.frames.find((f) => f.type === 'error' && f.ref === ref)
    const member = conn.session.rooms.get(room.id)
    const what = `typing in ${room.id} (${conn.label})`
    if (!member) {
      if (error?.code !== this.notJoined(room))
        this.fail(`${what}: expected ${this.notJoined(room)}, got ${JSON.stringify(error)}`)
      return
    }
    if (error) this.fail(`${what}: unexpected ${JSON.stringify(error)}`)
    this.outcome('typing', this.isMuted(room, member.key) ? 'muted' : 'ok')
    if (this.isMuted(room, member.key)) return
    member.typing = true
    this.broadcast(room, `typing|${room.id}|${member.username}|true`, member)
  }

  /** WS `history`: the last 50 stored messages, the same as the model's. */
  private async history(cmd: Extract<Command, { kind: 'history' }>): Promise<void> {
    const slot = this.slot(cmd.ci)
    const conn = slot.conn
    if (!conn) return
    const room = this.pickRoom(cmd.pick, this.roomsOf(slot))
    const reply = await this.ask(conn, { action: 'history', room: room.id }, ['history'])
    const what = `history of ${room.id} (${conn.label})`
    if (!room.exists) return this.expectError(reply, ['room_not_found'], what)
    if (room.isPrivate && !conn.session.rooms.has(room.id))
      return this.expectError(reply, ['not_authorized'], what)
    this.expectType(reply, 'history', what)
    const stored = this.storedOf(room)
    const want = {
      messages: stored.slice(-50).map((m) => [m.id, m.type, m.sender, m.content]),
      has_more: stored.length > 50,
    }
    const got = {
      messages: (reply.messages as Frame[]).map((m) => [m.id, m.type, m.sender, m.content]),
      has_more: reply.has_more,
    }
    if (!Bun.deepEquals(got, want))
      this.fail(`${what}: ${JSON.stringify(got)}, model ${JSON.stringify(want)}`)
  }

  /** Closes the slot's socket (a drop): its members go offline and their grace starts. */
  private async drop(ci: number): Promise<void> {
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

  /** A connection is closed (model side): no slot or session holds it any more. */
  private closed(conn: Conn): void {
    conn.open = false
    if (conn.session.conn === conn) conn.session.conn = undefined
    for (const slot of this.slots) if (slot.conn === conn) slot.conn = undefined
  }

  /** A session lost its connection at `at`: its members go offline, their grace starts. */
  private gone(session: Session, at: number): Member[] {
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

  /** The node marks members offline once it has seen the close: waits for that in Redis. */
  private async offline(members: Member[]): Promise<void> {
    for (const m of members) {
      await this.until(`${m.username} offline in ${m.room.id}`, async () => {
        const raw = await this.redis.hget(this.keys.room(m.room.id).members, m.key)
        return raw !== null && (JSON.parse(raw) as { o: number }).o === 0
      })
    }
  }

  /**
   * A rolling restart of one node: SIGTERM, every client of it gets `shutdown` and a 1001
   * close (its members go offline, as on a drop), the process exits 0 and starts again.
   * Those clients come back on the other node at their next step.
   */
  private async restart(cmd: Extract<Command, { kind: 'restart' }>): Promise<void> {
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
  private async connect(cmd: Extract<Command, { kind: 'connect' }>): Promise<void> {
    const slot = this.slot(cmd.ci)
    if (slot.conn) await this.drop(cmd.ci)
    const conn = await this.open(cmd.node % 2, `c${slot.index}`)
    slot.conn = conn
    slot.session = conn.session
    slot.lastNode = conn.node
  }

  /** The slot resumes its session on a new connection (a takeover if the old one is open). */
  private async resume(cmd: Extract<Command, { kind: 'resume' }>): Promise<void> {
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
  private async resumeSpent(cmd: Extract<Command, { kind: 'resumeSpent' }>): Promise<void> {
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

  /** Mostly a name the act applies to (another member, a banned or muted name), else any. */
  private pickTarget(
    room: RoomModel,
    action: string,
    who: number,
    self: Member | undefined,
  ): string {
    const others = [...room.members.values()].filter((m) => m !== self).map((m) => m.username)
    const fitting =
      action === 'unban' ? [...room.bans] : action === 'unmute' ? [...room.mutes.keys()] : others
    const any = [...OWN_NAMES, 'Ann']
    const name =
      who % 10 < 8 && fitting.length > 0 ? fitting[who % fitting.length] : any[who % any.length]
    this.log.push(`   target: ${name}`)
    return name ?? 'ann'
  }

  private async moderate(cmd: Extract<Command, { kind: 'moderate' }>): Promise<void> {
    const slot = this.slotFor(cmd.ci, (s) =>
      [...(s.conn?.session.rooms.values() ?? [])].some((m) => m.moderator),
    )
    const conn = slot.conn
    if (!conn) return
    const mine = [...conn.session.rooms.values()]
    const room = this.pickRoom(
      cmd.pick,
      mine.filter((m) => m.moderator).map((m) => m.room),
    )
    const name = this.pickTarget(room, cmd.action, cmd.who, conn.session.rooms.get(room.id))
    const k = key(name)
    const frame: Frame = { action: cmd.action, room: room.id, username: name }
    const ms = cmd.long ? LONG_MUTE_MS : SHORT_MUTE_MS
    if (cmd.action === 'mute') frame.duration_ms = ms
    const what = `${cmd.action} ${name} in ${room.id} (${conn.label})`
    const sentAt = Date.now()
    const reply = await this.ask(conn, frame, ['moderated'])
    const ackAt = Date.now()
    const mod = conn.session.rooms.get(room.id)
    if (!mod) return this.expectError(reply, [this.notJoined(room)], what)
    if (!mod.moderator) return this.expectError(reply, ['not_authorized'], what)
    if (k === mod.key && cmd.action !== 'unban' && cmd.action !== 'unmute')
      return this.expectError(reply, ['invalid_message'], what)
    const target = room.members.get(k)
    const shown = target?.username ?? name
    const by = mod.username
    const note = (text: string) => {
      const seq = room.append('system', 'system', text)
      this.broadcast(room, `system|${room.id}|${pad(seq)}|${text}`)
    }
    const evict = (t: Member, how: 'banned' | 'kicked', text: string) => {
      this.stopTyping(t)
      if (t.online && t.session.conn?.open) t.session.conn.expect(`${how}|${room.id}|${by}`)
      else t.session.removed.set(room.id, how)
      room.members.delete(t.key)
      t.session.rooms.delete(room.id)
      this.broadcast(room, `user_left|${room.id}|${t.username}`)
      note(text)
    }
    switch (cmd.action) {
      case 'ban':
        this.expectType(reply, 'moderated', what)
        room.bans.add(k)
        if (target) {
          room.bannedSessions.set(target.session, k)
          evict(target, 'banned', `${shown} was banned by ${by}`)
        } else note(`${shown} was banned by ${by}`)
        return
      case 'kick':
        if (!target) return this.expectError(reply, ['invalid_message'], what)
        this.expectType(reply, 'moderated', what)
        evict(target, 'kicked', `${target.username} was kicked by ${by}`)
        return
      case 'unban':
        if (!room.bans.has(k)) return this.expectError(reply, ['invalid_message'], what)
        this.expectType(reply, 'moderated', what)
        room.bans.delete(k)
        for (const [s, banned] of room.bannedSessions)
          if (banned === k) room.bannedSessions.delete(s)
        note(`${name} was unbanned by ${by}`)
        return
      case 'mute':
        this.expectType(reply, 'moderated', what)
        room.mutes.set(k, { from: sentAt, to: ackAt, ms })
        if (target) this.stopTyping(target)
        note(`${shown} was muted by ${by} for ${Math.ceil(ms / 1000)} s`)
        return
      case 'unmute':
        if (!room.mutes.has(k)) return this.expectError(reply, ['invalid_message'], what)
        this.expectType(reply, 'moderated', what)
        room.mutes.delete(k)
        note(`${shown} was unmuted by ${by}`)
        return
    }
  }

  // ── Time ─────────────────────────────────────────────────────────────────────

  /**
   * Lets every deadline that is near (within GUARD_MS) pass and waits until the cluster
   * has acted on it, applying it to the model: graces that end, empty rooms deleted, short
   * mutes that end. Afterwards no deadline falls within the next step.
   */
  async settle(): Promise<void> {
    for (;;) {
      const now = Date.now()
      const events: { at: number; run: () => Promise<void> }[] = []
      for (const s of this.sessions) {
        if (s.awaySince === undefined || s.expired) continue
        const at = s.awaySince + GRACE_MS
        if (now >= at - GUARD_MS) events.push({ at, run: () => this.expire(s, at) })
      }
      for (const room of this.rooms.values()) {
        if (!room.exists) continue
        if (!room.permanent && room.members.size === 0 && room.emptySince !== undefined) {
          const at = room.emptySince + EMPTY_TTL_MS
          if (now >= at - GUARD_MS) events.push({ at, run: () => this.deleteRoom(room) })
        }
        for (const mute of room.mutes.values()) {
          // Muted until somewhere between from + ms and to + ms: wait until surely over.
          const end = mute.to + mute.ms + 50
          if (now >= mute.from + mute.ms - GUARD_MS && now < end)
            events.push({ at: end, run: () => Bun.sleep(Math.max(0, end - Date.now())) })
        }
      }
      if (events.length === 0) return
      events.sort((a, b) => a.at - b.at)
      await events[0]?.run()
    }
  }

  /** A session's grace ends: its members leave every room (after the server has done it). */
  private async expire(session: Session, at: number): Promise<void> {
    const members = [...session.rooms.values()]
    if (members.length === 0) {
      // Nothing to see in the rooms: only the token dies.
      await Bun.sleep(Math.max(0, at + 200 - Date.now()))
    }
    for (const m of members) {
      await until(
        `${m.username}'s grace to end in ${m.room.id}`,
        async () => {
          const raw = await this.redis.hget(this.keys.room(m.room.id).members, m.key)
          return raw === null
        },
        GRACE_MS + CATCH_UP_MS,
      )
    }
    session.expired = true
    session.removed.clear()
    for (const m of members) {
      this.remove(m, `${m.username} left`, at)
      this.broadcast(m.room, `user_left|${m.room.id}|${m.username}`)
    }
    this.log.push(`   (grace of session ${session.id} ended)`)
    this.outcome('time', 'grace ended')
  }

  private async deleteRoom(room: RoomModel): Promise<void> {
    await this.until(
      `empty room ${room.id} to be deleted`,
      async () => {
        for (const n of this.nodes) {
          if ((await fetch(`${n.httpUrl}/rooms/${room.id}`)).status !== 404) return false
        }
        return true
      },
      EMPTY_TTL_MS + CATCH_UP_MS,
    )
    room.reset()
    this.log.push(`   (empty room ${room.id} deleted)`)
    this.outcome('time', 'empty room deleted')
  }

  // ── Invariants ───────────────────────────────────────────────────────────────

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
    let kept: string[] = []
    try {
      await until('records of dead sessions to expire', async () => {
        const stale = (await this.redis.keys('chat:sess:*')).filter((k) => !live.has(k))
        const ttls = await Promise.all(stale.map((k) => this.redis.pttl(k)))
        kept = stale.filter((_, i) => (ttls[i] ?? -1) === -1)
        return kept.length === 0
      })
    } catch {
      const records = await Promise.all(kept.map(async (k) => [k, await this.redis.hgetall(k)]))
      this.fail(`records of dead sessions kept in Redis for ever: ${JSON.stringify(records)}`)
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

  private consume(conn: Conn): void {
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
  private track(conn: Conn, f: Frame, isMessage: boolean): void {
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

  private missing(conn: Conn): string[] {
    const out: string[] = []
    for (const [k, n] of conn.expected) {
      const got = conn.received.get(k) ?? 0
      if (got < n) out.push(`${k} (${got}/${n})`)
    }
    return out
  }

  private async checkFrames(): Promise<void> {
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
   * The sentinel that proves a frame was not sent, across nodes: an event envelope (see
   * src/cluster/scripts.ts) published on each room's channel, which every node relays to
   * its members of the room as a `pong`. Anything a node published or sent before it, it
   * has sent by then; every online member getting it also proves that its node holds it
   * subscribed to the room.
   */
  private async barrier(): Promise<void> {
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
      const pong = JSON.stringify({ type: 'pong', ref })
      await this.redis.publish(this.keys.room(room.id).channel, `e|0|model-test|-||${pong}`)
    }
    await Promise.all(waits)
  }

  /**
   * Every online member of a room has received every text message since it joined, in one
   * order, and any two members agree on the messages both were there for.
   */
  private checkMessageOrder(): void {
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
  private async getBoth(
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

  private async checkRest(): Promise<void> {
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

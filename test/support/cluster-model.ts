/**
 * The model behind test/cluster/model.test.ts: a real cluster (one redis-server, two nodes
 * as child processes, started afresh for each run), four client slots on it, and a model
 * of what the protocol says must hold. Every command is applied to both; its reply must be
 * the one the model predicts, and after every step the invariants are checked across both
 * nodes (see `check` in cluster-model-invariants.ts).
 *
 * Real time cannot be faked in child processes, so every deadline (resume grace, empty
 * room expiry, short mutes) has a known earliest moment (the server starts its clock after
 * we act) and the model never acts near one: `settle()` first waits until the deadline has
 * surely passed and the server has done what it says. Every step is thus deterministic.
 */
import Redis from 'ioredis'
import { ChatNode, RedisServer } from './cluster.ts'
import { MemoryProbes, type ModelProbes, RedisProbes } from './cluster-model-probes.ts'
import { SessionCommands } from './cluster-model-sessions.ts'
import {
  type Command,
  key,
  LONG_MUTE_MS,
  live,
  type Member,
  NODE_ENV,
  OWN_NAMES,
  pad,
  type RoomModel,
  SHORT_MUTE_MS,
} from './cluster-model-state.ts'
import type { Frame } from './ws-client.ts'

export type { Command } from './cluster-model-state.ts'
export {
  EMPTY_TTL_MS,
  GRACE_MS,
  LONG_MUTE_MS,
  NODE_ENV,
  OWN_NAMES,
  ROOM_IDS,
  type RoomId,
  SHORT_MUTE_MS,
  stopAll,
} from './cluster-model-state.ts'

/**
 * The model in layers, each in its own file: the shared state and helpers
 * (cluster-model-base.ts), time (-time.ts), the invariants (-invariants.ts), the room
 * commands (-rooms.ts), the session commands (-sessions.ts); here how a run starts, how a
 * step is applied, and moderation.
 */
export class ClusterModel extends SessionCommands {
  private constructor(redisServer: RedisServer, nodes: ChatNode[], probes: ModelProbes) {
    super(redisServer, nodes, probes)
  }

  /**
   * Starts the four client slots (slot i on node i % 2) on two nodes and Redis, or (engine
   * `memory`) on one in-memory server that stands for both nodes.
   */
  static async start(engine: 'redis' | 'memory' = 'redis', slotCount = 4): Promise<ClusterModel> {
    try {
      return await ClusterModel.startOnce(engine, slotCount)
    } catch (e) {
      // A node slow to start on a loaded machine is not what this test is about: once more.
      console.warn(`cluster start failed (${(e as Error).message}); trying once more`)
      return ClusterModel.startOnce(engine, slotCount)
    }
  }

  private static async startOnce(
    engine: 'redis' | 'memory',
    slotCount: number,
  ): Promise<ClusterModel> {
    const redisServer = new RedisServer()
    const memory = engine === 'memory'
    const env = memory ? { ...NODE_ENV, REDIS_URL: '' } : NODE_ENV
    const started = [0, ...(memory ? [] : [1])].map(
      (i) => new ChatNode(redisServer, { env }, `model-${i + 1}`),
    )
    const nodes = memory ? [started[0] as ChatNode, started[0] as ChatNode] : started
    // Until the model owns them (a test timing out mid-start must not leave them running).
    const starting = async () => {
      await Promise.allSettled(started.map((n) => n.stop('SIGKILL')))
      await redisServer.stop()
    }
    live.add(starting)
    try {
      let probes: ModelProbes
      if (memory) {
        await Promise.all(started.map((n) => n.start()))
        probes = new MemoryProbes(started[0] as ChatNode)
      } else {
        await redisServer.start()
        await Promise.all(started.map((n) => n.start()))
        const client = new Redis(redisServer.url, { lazyConnect: true, maxRetriesPerRequest: 1 })
        await client.connect()
        probes = new RedisProbes(client)
      }
      const model = new ClusterModel(redisServer, nodes, probes)
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
}

/**
 * A guarded change to one room on Redis (src/chat/engine.ts's `change`): the change as the
 * `change` script takes it, one script call, then what the answer asks of this node (the
 * joiner's greeting, the sessions that left the room, a deleted room's purge, the deadlines
 * the janitor looks at).
 */

import type { Change, Outcome, Write } from '../chat/change.ts'
import { userKey } from '../domain/names.ts'
import type { RoomId } from '../protocol/frames.ts'
import { scriptNotes, scriptWrites } from './change-args.ts'
import { messagesJson, roomKeyArgs, type StoredMember, usersOf } from './cluster-rooms.ts'
import type { NodeParts } from './node-parts.ts'
import { readMarksOf } from './read-markers-redis.ts'
import type { RedisEngineHost } from './redis-engine-host.ts'

/** How long the record of a session that went away is kept: its grace, and a second. */
export function sessionRecordTtlMs(config: NodeParts['config']): number {
  return config.resumeGraceMs + 1000
}

/** A change's write that makes a holder away for its grace. */
type AwayWrite = Extract<Write, { op: 'away' }>

/** The script's answer: code, seq, count, dropped session and online, then the joiner's view. */
type ChangeReply = [
  string,
  number,
  number | string,
  string,
  number,
  string[] | undefined,
  string[] | undefined,
  string | undefined,
  /** For a joiner: the room's read markers, as HGETALL's flat list. */
  string[] | undefined,
]

export class RedisChanges {
  constructor(
    private readonly parts: NodeParts,
    private readonly host: RedisEngineHost,
  ) {}

  async apply(room: RoomId, change: Change): Promise<Outcome> {
    const { link, keys, config } = this.parts
    const k = keys.room(room)
    const { now, target } = change
    const writes = scriptWrites(room, change.writes, config.nodeId)
    const notes = scriptNotes(room, change.notes, now, change.quiet === true)
    const put = change.writes.find((w) => w.op === 'putMember' || w.op === 'hold')
    const ticket = put ? await this.host.beforeJoin(room) : undefined
    let out: ChangeReply
    try {
      out = (await link.script('applyChange', roomKeyArgs(k), [
        JSON.stringify({
          guards: change.guards,
          writes,
          notes,
          target: target ? `${target.key}\t${target.how}\t${target.by}\t${target.until}` : '',
          view: put?.key ?? '',
        }),
        config.historyLimit,
        now,
        k.channel,
        config.nodeId,
      ])) as ChangeReply
    } catch (e) {
      if (put) this.host.afterJoin(ticket, undefined)
      throw e
    }
    const [code, seq, count, dropped, droppedOnline, members, history, muteEnd, marks] = out
    if (put) {
      const greet = change.greet
      // A new holder of a membership takes the member's name and rights.
      const member =
        put.op === 'putMember'
          ? put
          : (members ?? [])
              .map((raw) => JSON.parse(raw) as StoredMember)
              .map((m) => ({ username: m.u, moderator: m.m === 1 }))
              .find((m) => userKey(m.username) === put.key)
      this.host.afterJoin(
        ticket,
        code !== 'ok' || !member
          ? undefined
          : {
              hash: put.session as string,
              key: put.key,
              username: member.username,
              moderator: member.moderator,
              seq,
              mutedUntil: Number(muteEnd) || 0,
              greet: () =>
                greet?.({
                  users: JSON.stringify(usersOf(members ?? [])),
                  history: messagesJson(history ?? []),
                  read: readMarksOf(members ?? [], marks),
                }),
            },
      )
    }
    if (code !== 'ok') return { failed: code }
    if (change.writes.some((w) => w.op === 'deleteRoom')) {
      await this.purge(room, (members ?? []) as string[])
      return { seq }
    }
    if (count === 0) this.host.track(this.expireEmpty(room))
    const away = change.writes.find((w): w is AwayWrite => w.op === 'away')
    // The janitor looks at the room again when the grace ends.
    if (away) await link.call(() => link.cmd.zadd(keys.due, 'LT', away.until, room))
    // Who left: every session that held a dropped member (`hash|online`), or the one that let go.
    const left: [string, number][] = change.writes.some((w) => w.op === 'dropMember')
      ? ((members ?? []) as string[]).map((entry) => {
          const [hash = '', online] = entry.split('|')
          return [hash, Number(online)]
        })
      : dropped !== ''
        ? [[dropped, droppedOnline]]
        : []
    for (const [hash, online] of left) {
      if (target?.how === 'banned' || target?.how === 'kicked')
        await this.forgetRoom(hash, room, online === 1 ? undefined : target.how)
      // The drop went out with the first note: what the room sent before it reaches them.
      else await this.host.dropHere(room, hash, seq - change.notes.length)
    }
    return { seq }
  }

  /**
   * The rest of a room's deletion: the sessions that were in it (`hash|online`) forget it,
   * those away to be told on resume, then its keys and its registry entry go.
   */
  private async purge(room: RoomId, gone: string[]): Promise<void> {
    const { link, keys } = this.parts
    for (const entry of gone) {
      const [hash = '', online] = entry.split('|')
      await this.forgetRoom(hash, room, online === '1' ? undefined : 'deleted')
    }
    const k = keys.room(room)
    await link.call(() => link.cmd.hdel(keys.registry, room))
    await link.script('purge', roomKeyArgs(k), [k.channel])
  }

  /** The room is empty now: its deletion is due ROOM_EMPTY_TTL_MS from now (the janitor checks). */
  async expireEmpty(room: RoomId): Promise<void> {
    const { link, keys, clock, config } = this.parts
    const at = clock.now() + config.roomEmptyTtlMs
    await link.call(() => link.cmd.zadd(keys.due, 'LT', at, room)).catch(() => {})
  }

  /**
   * The session `hash` is no longer in `room`; when it is away (`how` given), it is told
   * why on resume.
   */
  private async forgetRoom(hash: string, room: RoomId, how: string | undefined): Promise<void> {
    const { link, keys } = this.parts
    const record = keys.session(hash)
    await link.call(() => link.cmd.hdel(record, room))
    if (how === undefined) return
    await link.call(() => link.cmd.hset(record, `!${room}`, how))
    await link.call(() => link.cmd.pexpire(record, sessionRecordTtlMs(this.parts.config), 'LT'))
  }
}

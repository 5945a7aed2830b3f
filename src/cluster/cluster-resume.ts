/**
 * The Redis engine's half of `resume` (the rules are src/chat/resume.ts): the session may
 * have lived on any node. Its record in Redis names its rooms; each is claimed for this
 * connection (the claim script), and the node that still held the session closes its old
 * connection.
 */

import { readState } from '../chat/read-markers.ts'
import {
  type AwayReason,
  type Claim,
  type ClaimedRoom,
  type ResumePort,
  resume,
} from '../chat/resume.ts'
import { userIdentity } from '../chat/sign-in.ts'
import { userKey } from '../domain/names.ts'
import {
  isChange,
  type LogEntry,
  type ResumeFrame,
  type StoredMessage,
} from '../protocol/frames.ts'
import { roomKeyArgs, usersOf } from './cluster-rooms.ts'
import type { Delivery } from './delivery.ts'
import { sessionHash } from './keys.ts'
import type { ClusterConnection, LocalMember, LocalSession } from './local-session.ts'
import { type NodeParts, presenceJson, presenceTemplate } from './node-parts.ts'
import { readMarksOf } from './read-markers-redis.ts'
import type { RoomFeed } from './room-feed.ts'

/** What a resume needs of the rest of the store; ClusterStore provides it. */
export interface ClusterResumeHost {
  /** Closes this node's connection of a session that was resumed elsewhere. */
  takenOver(hash: string): void
  /** The connection still holds this session (it did not close while we waited). */
  stillLive(conn: ClusterConnection, client: LocalSession): boolean
  /** Cancels the timeout for connections that join no room. */
  clearUnjoined(client: LocalSession): void
  /** A `resumed` frame went out (for the metrics). */
  resumed(recovered: boolean): void
  /** A signed-in session is resumed by the same user only (`not_authorized` else). */
  checkResume(user: string | undefined, fresh: LocalSession): void
}

/**
 * claim.lua's answer: ok, hold was online, its node, name, moderator, seq, members, history,
 * mute end, member was online, read markers (HGETALL's flat list).
 */
type ClaimOut = [
  string,
  number,
  string,
  string,
  number,
  number,
  string[],
  string[],
  string,
  number,
  string[],
]

/** A room claimed for the resuming session, with its feed on this node and the member as claimed. */
interface ClaimedFeed extends ClaimedRoom {
  readonly feed: RoomFeed
  readonly member: LocalMember
}

export class ClusterResume {
  constructor(
    private readonly parts: NodeParts,
    private readonly delivery: Delivery,
    private readonly host: ClusterResumeHost,
  ) {}

  /** `resume` for `fresh`, the session of `conn` (rate limits and Redis already checked). */
  async resume(conn: ClusterConnection, fresh: LocalSession, frame: ResumeFrame): Promise<void> {
    await resume(this.port(conn, fresh), conn, fresh.rooms.size, frame, (user) =>
      this.host.checkResume(user, fresh),
    )
  }

  private port(conn: ClusterConnection, fresh: LocalSession): ResumePort<ClaimedFeed> {
    /** The session's record in Redis, read by `find` (its room fields, `_id`, `:user`, and a `!` field per room lost). */
    let record: Record<string, string> = {}
    return {
      find: async (token) => {
        const old = sessionHash(token)
        if (old === fresh.hash) return undefined
        record = await this.parts.link.call(() =>
          this.parts.link.cmd.hgetall(this.parts.keys.session(old)),
        )
        const fields = Object.keys(record)
        if (fields.length === 0) return undefined
        const lost = fields.filter((f) => f.startsWith('!')).length
        const rooms = fields.filter((f) => !f.startsWith('!') && f !== '_id' && f !== ':user')
        return { user: record[':user'], rooms: rooms.length, lost }
      },
      claim: (token) => this.claim(fresh, sessionHash(token), record),
      live: (claim) => {
        if (this.host.stillLive(conn, fresh)) return true
        for (const { feed } of claim.rooms) this.delivery.release(feed)
        return false
      },
      send: (f) => fresh.peer?.send(f),
      enter: ({ feed, member }, announce) => {
        this.delivery.addLocal(fresh, member)
        // Back online: the script told the other nodes; this node tells its own members,
        // before the resumer is subscribed (they see no presence frame about themselves).
        if (announce)
          this.delivery.publishLocal(
            feed.room,
            presenceJson(feed.room, member.username, 'online', member.userId),
          )
      },
      admitted: ({ feed, kept }) => this.delivery.admit(feed, fresh, kept.lastSeq),
      resumed: (recovered) => this.host.resumed(recovered),
      settled: (rooms) => {
        if (rooms > 0) this.host.clearUnjoined(fresh)
      },
    }
  }

  /**
   * Claims each room of the session `old` (its `record`) for `fresh`, has the node that
   * still held it close its old connection, and renames the record.
   */
  private async claim(
    fresh: LocalSession,
    old: string,
    record: Record<string, string>,
  ): Promise<Claim<ClaimedFeed>> {
    const entries = Object.entries(record)
    const rooms: ClaimedFeed[] = []
    const takeovers = new Set<string>()
    fresh.banId = record._id ?? old
    for (const [room, key] of entries) {
      if (room.startsWith('!') || room === '_id' || room === ':user') continue
      const feed = await this.delivery.acquire(room).catch(() => undefined)
      if (!feed) continue
      feed.meta ??= await this.parts.rooms.meta(room).catch(() => undefined)
      const k = this.parts.keys.room(room)
      const out = (await this.parts.link
        .script('claim', roomKeyArgs(k), [
          key,
          old,
          fresh.hash,
          this.parts.config.nodeId,
          k.channel,
          presenceTemplate(room, 'online'),
          this.parts.config.historyLimit,
        ])
        .catch(() => ['gone'])) as ClaimOut
      if (out[0] !== 'ok') {
        this.delivery.release(feed)
        continue
      }
      if (out[1] === 1) takeovers.add(out[2])
      rooms.push(this.claimed(fresh, feed, out))
    }
    const lost = entries
      .filter(([room]) => room.startsWith('!'))
      .map(([room, how]) => [room.slice(1), how as AwayReason] as const)
    // Nothing claimed and nothing to tell: the rules refuse the resume, the record stays.
    if (rooms.length === 0 && lost.length === 0) return { rooms, lost }
    for (const node of takeovers) {
      // Here: at once, so the old connection's typing ends before the resumer is subscribed.
      if (node === this.parts.config.nodeId) this.host.takenOver(old)
      else
        await this.parts.link
          .call(() =>
            this.parts.link.cmd.publish(this.parts.keys.nodeChannel(node), `takeover|${old}`),
          )
          .catch(() => {})
    }
    const next: Record<string, string> = {}
    for (const { feed, member } of rooms) next[feed.room] = member.key
    if (fresh.banId !== fresh.hash) next._id = fresh.banId
    if (fresh.user) next[':user'] = userIdentity(fresh.user)
    const rename = this.parts.link.cmd.multi().del(this.parts.keys.session(old))
    if (rooms.length > 0) rename.hset(this.parts.keys.session(fresh.hash), next)
    await this.parts.link.call(() => rename.exec()).catch(() => {})
    return { rooms, lost }
  }

  /** The room as the claim script left it, for `resumed`. */
  private claimed(client: LocalSession, feed: RoomFeed, out: ClaimOut): ClaimedFeed {
    const [, , , username, moderator, seq, members, history, muteEnd, memberOnline, marks] = out
    const member: LocalMember = {
      room: feed.room,
      username,
      key: userKey(username),
      moderator: moderator === 1,
      userId: client.user?.id,
      typingState: undefined,
      mutedUntil: Number(muteEnd) || 0,
    }
    const kept = history.map((h) => JSON.parse(h) as LogEntry)
    const read = readState(
      readMarksOf(members, marks),
      username,
      member.userId,
      kept.filter((e): e is StoredMessage => !isChange(e)),
      this.parts.config.readMarkersMaxMembers,
    )
    return {
      feed,
      member,
      room: feed.room,
      username,
      moderator: member.moderator,
      wasOnline: memberOnline === 1,
      users: usersOf(members),
      kept: { history: kept, lastSeq: seq },
      read,
    }
  }
}

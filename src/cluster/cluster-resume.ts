/**
 * `resume` on a cluster node: the session may have lived on any node. Its record in Redis
 * names its rooms; each is claimed for this connection (the claim script), and the node
 * that still held the session closes its old connection.
 */

import { readState } from '../chat/read-markers.ts'
import {
  type AwayReason,
  awayError,
  checkResumable,
  checkSomethingToResume,
  resumedRoom,
  unknownSession,
} from '../chat/resume.ts'
import { userIdentity } from '../chat/sign-in.ts'
import { userKey } from '../domain/names.ts'
import {
  isChange,
  type LogEntry,
  type Ref,
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

/** What the claim script returns. */
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

export class ClusterResume {
  constructor(
    private readonly parts: NodeParts,
    private readonly delivery: Delivery,
    private readonly host: ClusterResumeHost,
  ) {}

  /** `resume` for `fresh`, the session of `conn` (rate limits and Redis already checked). */
  async resume(conn: ClusterConnection, fresh: LocalSession, frame: ResumeFrame): Promise<void> {
    checkResumable(conn.resumed, fresh.rooms.size)
    const old = sessionHash(frame.session)
    if (old === fresh.hash) throw unknownSession()
    const record = await this.parts.link.call(() =>
      this.parts.link.cmd.hgetall(this.parts.keys.session(old)),
    )
    const entries = Object.entries(record)
    if (entries.length === 0) throw unknownSession()
    this.host.checkResume(record[':user'], fresh)
    conn.resumed = true
    const claimed: { feed: RoomFeed; out: ClaimOut }[] = []
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
      claimed.push({ feed, out })
    }
    const removed = entries.filter(([room]) => room.startsWith('!'))
    if (claimed.length === 0 && removed.length === 0) conn.resumed = false
    checkSomethingToResume(claimed.length, removed.length)
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
    for (const { feed, out } of claimed) next[feed.room] = userKey(out[3])
    if (fresh.banId !== fresh.hash) next._id = fresh.banId
    if (fresh.user) next[':user'] = userIdentity(fresh.user)
    const rename = this.parts.link.cmd.multi().del(this.parts.keys.session(old))
    if (claimed.length > 0) rename.hset(this.parts.keys.session(fresh.hash), next)
    await this.parts.link.call(() => rename.exec()).catch(() => {})
    if (!this.host.stillLive(conn, fresh)) {
      for (const { feed } of claimed) this.delivery.release(feed)
      return
    }
    for (const [room, how] of removed)
      fresh.peer?.send(awayError(room.slice(1), how as AwayReason, frame.ref))
    for (const { feed, out } of claimed) {
      this.resumeRoom(fresh, feed, out, frame.last_ids?.[feed.room], frame.ref)
    }
    if (fresh.rooms.size > 0) this.host.clearUnjoined(fresh)
  }

  private resumeRoom(
    client: LocalSession,
    feed: RoomFeed,
    out: ClaimOut,
    lastId: string | undefined,
    ref: Ref | undefined,
  ): void {
    const [, , , username, moderator, seq, members, history, muteEnd, , marks] = out
    const member: LocalMember = {
      room: feed.room,
      username,
      key: userKey(username),
      moderator: moderator === 1,
      userId: client.user?.id,
      typing: false,
      typingTimer: undefined,
      lastTypingBroadcastAt: Number.NEGATIVE_INFINITY,
      mutedUntil: Number(muteEnd) || 0,
    }
    this.delivery.addLocal(client, member)
    // Back online: the script told the other nodes; this node tells its own members, before
    // the resumer is subscribed (they see no presence frame about themselves).
    if (out[9] === 0)
      this.delivery.publishLocal(
        feed.room,
        presenceJson(feed.room, username, 'online', member.userId),
      )
    const kept = history.map((h) => JSON.parse(h) as LogEntry)
    const read = readState(
      readMarksOf(members, marks),
      username,
      member.userId,
      kept.filter((e): e is StoredMessage => !isChange(e)),
      this.parts.config.readMarkersMaxMembers,
    )
    const { frames, recovered } = resumedRoom(
      { room: feed.room, username, moderator: member.moderator, users: usersOf(members) },
      { history: kept, lastSeq: seq },
      lastId,
      ref,
      read,
    )
    for (const f of frames) client.peer?.send(f)
    this.host.resumed(recovered)
    this.delivery.admit(feed, client, seq)
  }
}

import { ChatError } from '../protocol/errors.ts'
import type { RoomId } from '../protocol/frames.ts'
import type { Announcer } from './announcer.ts'
import type { EmptyRooms } from './empty-rooms.ts'
import { holders, isOnline, type Member, type Room, type Session } from './room.ts'
import type { Sessions } from './sessions.ts'

/**
 * Who is in which room, in memory: members come and go here, and both indexes (room →
 * members, session → rooms) change together. The rules of joining and leaving are in
 * src/chat/membership.ts; rooms themselves are RoomStore's business.
 */
export class Membership {
  constructor(
    /** The room with this id or name; throws `room_not_found`. */
    private readonly room: (id: RoomId) => Room,
    private readonly announce: Announcer,
    private readonly sessions: Sessions,
    private readonly emptyRooms: EmptyRooms,
  ) {}

  /**
   * Makes `client` a member of `room` under `username` (the join's rules are in
   * src/chat/membership.ts): the others hear of it before the newcomer is subscribed, so
   * the newcomer is not told about themselves.
   */
  add(room: Room, client: Session, username: string, key: string, moderator: boolean): Member {
    const member = holder(room, client, username, key, moderator, undefined)
    this.emptyRooms.cancel(room)
    room.addMember(member)
    this.announce.joined(member)
    client.rooms.set(room.id, member)
    client.removedWhileAway?.delete(room.id)
    return member
  }

  /**
   * Makes `client` another holder of `member`'s membership (another tab or device of the
   * same user): nobody hears of it, unless the member was away (then `presence` online).
   */
  hold(member: Member, client: Session): Member {
    const wasOnline = isOnline(member)
    const { room } = member
    // A second holder: the membership gets its array, shared by every holder.
    member.group ??= [member]
    const added = holder(room, client, member.username, member.key, member.moderator, member.group)
    client.rooms.set(room.id, added)
    client.removedWhileAway?.delete(room.id)
    room.statusChanged()
    if (!wasOnline) this.announce.status(added)
    return added
  }

  /**
   * `member`'s session lets go of a membership that other sessions still hold: it is
   * unsubscribed, and nobody hears of it, unless the holders left are all away (then
   * `presence` offline).
   */
  release(member: Member): void {
    const { room, client } = member
    const group = member.group ?? [member]
    const wasOnline = isOnline(member)
    this.announce.stopTyping(member)
    client.peer?.unsubscribe(room.id)
    client.rooms.delete(room.id)
    group.splice(group.indexOf(member), 1)
    const first = group[0]
    if (first && room.members.get(member.key) === member) room.members.set(member.key, first)
    room.statusChanged()
    if (first && wasOnline && !isOnline(first)) this.announce.status(first)
    if (client.rooms.size === 0 && client.peer) this.sessions.watchUnjoined(client)
  }

  /**
   * `member`'s connection closed: they are away until `until` (the others hear `presence`
   * offline unless another tab or device of the user is there), and the session's grace
   * ends then.
   */
  away(member: Member, until: number): void {
    member.room.statusChanged()
    if (!isOnline(member)) this.announce.status(member)
    this.sessions.graceUntil(member.client, until)
  }

  /** The newcomer starts getting the room's broadcasts. */
  admitted(member: Member): void {
    member.client.peer?.subscribe(member.room.id)
    this.sessions.clearTimer(member.client, 'unjoinedTimer')
  }

  /**
   * Takes a member out of its room: stops their typing, unsubscribes them and tells the
   * others (`user_left`); an emptied room starts its countdown.
   */
  drop(member: Member): void {
    const { room } = member
    for (const held of [...holders(member)]) {
      const { client } = held
      this.announce.stopTyping(held)
      client.peer?.unsubscribe(room.id)
      client.rooms.delete(room.id)
      if (client.rooms.size === 0 && client.peer) this.sessions.watchUnjoined(client)
    }
    ended(member)
    room.removeMember(member)
    this.announce.left(member)
    this.emptyRooms.schedule(room)
  }

  /**
   * The room is deleted: every member is out at once, told `room_deleted` (now, or on
   * resume if they are away); nobody hears `user_left`.
   */
  removeAll(room: Room): void {
    const members = [...room.members.values()]
    for (const member of members.flatMap((m) => [...holders(m)])) {
      const { client } = member
      this.announce.clearTyping(member)
      if (client.peer) {
        client.peer.send({ type: 'room_deleted', room: room.id })
        client.peer.unsubscribe(room.id)
      } else {
        client.removedWhileAway ??= new Map()
        client.removedWhileAway.set(room.id, 'deleted')
      }
      client.rooms.delete(room.id)
      if (client.rooms.size === 0 && client.peer) this.sessions.watchUnjoined(client)
    }
    for (const member of members) {
      ended(member)
      room.removeMember(member)
    }
  }

  /** The member of `roomId` that this client is, or `room_not_found` / `not_authorized`. */
  memberOf(client: Session, roomId: RoomId): Member {
    const member = client.rooms.get(roomId)
    if (member) return member
    // Like join, accept the room's name as well as its id.
    const room = this.room(roomId)
    const byName = client.rooms.get(room.id)
    if (byName) return byName
    throw new ChatError('not_authorized', 'You have not joined this room')
  }

  /** Tells a banned or kicked member why they are out: now, or on resume if they are away. */
  tell(member: Member, how: 'banned' | 'kicked', by: string): void {
    const roomId = member.room.id
    for (const target of holders(member)) {
      if (target.client.peer) target.client.peer.send({ type: how, room: roomId, by })
      else {
        target.client.removedWhileAway ??= new Map()
        target.client.removedWhileAway.set(roomId, how)
      }
    }
  }
}

/** The membership ended: every holder's group is left empty (see Member.group). */
function ended(member: Member): void {
  if (member.group === undefined) member.group = []
  else member.group.length = 0
}

/**
 * One session's hold of a membership, filed in `group` (undefined: a new membership, held
 * by this member alone).
 */
function holder(
  room: Room,
  client: Session,
  username: string,
  key: string,
  moderator: boolean,
  group: Member[] | undefined,
): Member {
  const member: Member = {
    client,
    room,
    username,
    key,
    moderator,
    // The join note comes right after the member is added; a second holder keeps the first's.
    joinSeq: group?.[0]?.joinSeq ?? room.history.nextSeq(),
    typingState: undefined,
    group,
  }
  group?.push(member)
  return member
}

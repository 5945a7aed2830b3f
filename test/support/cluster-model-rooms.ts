/**
 * The cluster model's commands about rooms (see test/support/cluster-model.ts): join,
 * create (over WS and REST), leave, message, burst, typing and history.
 */

import { ModelInvariants } from './cluster-model-invariants.ts'
import {
  type Command,
  DEFAULT_MAX_USERS,
  key,
  type Member,
  PASSWORD,
  pad,
  ROOM_NAMES,
} from './cluster-model-state.ts'
import type { Frame } from './ws-client.ts'

export class RoomCommands extends ModelInvariants {
  protected async join(cmd: Extract<Command, { kind: 'join' }>): Promise<void> {
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
        if (conn.wrongPasswords >= 5 || (this.wrongPerNode[this.counterOf(conn.node)] ?? 0) >= 20)
          allowed.push('rate_limited')
        this.expectError(reply, allowed, what)
        if (reply.code === 'not_authorized') {
          conn.wrongPasswords += 1
          this.wrongPerNode[this.counterOf(conn.node)] =
            (this.wrongPerNode[this.counterOf(conn.node)] ?? 0) + 1
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

  protected async create(cmd: Extract<Command, { kind: 'create' }>): Promise<void> {
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

  protected async restCreate(cmd: Extract<Command, { kind: 'restCreate' }>): Promise<void> {
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

  protected async leave(cmd: Extract<Command, { kind: 'leave' }>): Promise<void> {
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

  protected async message(cmd: Extract<Command, { kind: 'message' }>): Promise<void> {
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
  protected async burst(cmd: Extract<Command, { kind: 'burst' }>): Promise<void> {
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

  protected async typing(cmd: Extract<Command, { kind: 'typing' }>): Promise<void> {
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
  protected async history(cmd: Extract<Command, { kind: 'history' }>): Promise<void> {
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
}

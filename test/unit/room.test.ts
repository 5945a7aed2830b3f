import { describe, expect, it } from 'bun:test'
import type { Session } from '../../src/domain/room.ts'
import { type Member, Room } from '../../src/domain/room.ts'
import { FakeClock } from '../support/fake-clock.ts'

function room(): Room {
  return new Room(
    {
      id: 'r',
      name: 'R',
      isPrivate: false,
      maxUsers: 100,
      passwordHash: undefined,
      moderatorToken: 'token',
      permanent: false,
    },
    5,
    new FakeClock(),
  )
}

function member(r: Room, username: string, online = true): Member {
  const client = { peer: online ? {} : undefined } as unknown as Session
  const m: Member = {
    client,
    room: r,
    username,
    key: username.toLowerCase(),
    moderator: false,
    joinSeq: 1,
    typingState: undefined,
    // The membership's only holder (see Member.group).
    group: undefined,
  }
  return m
}

describe('Room JSON caches', () => {
  it('keep the user list JSON equal to a fresh serialization through every change', () => {
    const r = room()
    const expectFresh = () => expect(r.usersJson()).toBe(JSON.stringify(r.users()))
    expectFresh()
    const members = ['alice', 'bob', 'carol', 'dave'].map((n) => member(r, n))
    for (const m of members) {
      r.addMember(m)
      expectFresh()
    }
    r.removeMember(members[1] as Member)
    expectFresh()
    r.addMember(member(r, 'erin'))
    expectFresh()
    // Going offline changes an entry; the store calls statusChanged().
    ;(members[0] as Member).client.peer = undefined
    r.statusChanged()
    expectFresh()
    expect(JSON.parse(r.usersJson())[0]).toEqual({
      username: 'alice',
      status: 'offline',
      moderator: false,
    })
  })

  it('keeps the history JSON equal to a fresh serialization as messages arrive and fall off', () => {
    const r = room()
    expect(r.historyJson()).toBe('[]')
    for (let i = 0; i < 8; i++) {
      r.append('text', 'alice', `m${i}`, 1000 + i)
      expect(r.historyJson()).toBe(JSON.stringify(r.history.all()))
    }
    expect(JSON.parse(r.historyJson()).map((m: { content: string }) => m.content)).toEqual([
      'm3',
      'm4',
      'm5',
      'm6',
      'm7',
    ])
  })
})

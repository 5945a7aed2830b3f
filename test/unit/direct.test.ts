import { describe, expect, it } from 'bun:test'
import fc from 'fast-check'
import type { Identity } from '../../src/auth/tokens.ts'
import { openDirect } from '../../src/chat/direct.ts'
import { directPair, directRoomId, otherUser } from '../../src/chat/direct-ids.ts'
import type { RoomEngine } from '../../src/chat/engine.ts'
import type { Joiner } from '../../src/chat/membership.ts'
import type { CreationContext } from '../../src/chat/rooms.ts'
import { ChatError } from '../../src/protocol/errors.ts'
import type { JoinFrame } from '../../src/protocol/frames.ts'
import { parseClientFrame } from '../../src/protocol/parse.ts'

const user = (id: string): Identity => ({
  id,
  name: id,
  expiresAt: Number.MAX_SAFE_INTEGER,
  rooms: [],
  moderates: [],
})

describe('directRoomId', () => {
  it('is the same from either side, safe to use as an id, and reads back as the pair', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (a, b) => {
        fc.pre(a !== b)
        const id = directRoomId(a, b)
        expect(directRoomId(b, a)).toBe(id)
        expect(id).toMatch(/^dm:[A-Za-z0-9_-]+:[A-Za-z0-9_-]+$/)
        expect([...(directPair(id) ?? [])].sort()).toEqual([a, b].sort())
        expect(otherUser(id, user(a))).toBe(b)
        expect(otherUser(id, user(b))).toBe(a)
      }),
    )
  })

  it('gives two pairs two ids', () => {
    expect(directRoomId('a', 'bc')).not.toBe(directRoomId('ab', 'c'))
    expect(directRoomId('a:b', 'c')).not.toBe(directRoomId('a', 'b:c'))
  })

  it('reads no pair from ids the server would not derive', () => {
    const id = directRoomId('alice', 'bob')
    const [x, y] = id.slice(3).split(':') as [string, string]
    for (const other of [
      'general',
      'dm-alice-bob',
      `dm:${y}:${x}`, // unsorted
      `dm:${x}=:${y}`, // padded
      `dm:${x}:${y}:${x}`,
      `dm:${x}`,
      'dm::',
      `dm:${x}:${y}!`,
    ])
      expect(directPair(other)).toBeUndefined()
  })

  it('refuses anyone but its two users, and anonymous connections, with not_authorized', () => {
    const id = directRoomId('alice', 'bob')
    for (const who of [user('carol'), undefined, user('dm')])
      expect(() => otherUser(id, who)).toThrow(ChatError)
    expect(() => otherUser('general', user('alice'))).toThrow('Only its two users')
  })
})

describe('openDirect', () => {
  it('looks again when the room it found is not ready on another node yet', async () => {
    const created: string[] = []
    const engine = {
      creatable: () => 'exists',
      createRoom: (room: { id: string }) => {
        created.push(room.id)
        return 'ok'
      },
    } as unknown as RoomEngine
    const joins: JoinFrame[] = []
    const ctx = {
      book: {
        add: () => true,
        remove: () => {},
        list: () => new Map(),
        tell: () => {},
      },
      creation: {
        config: { maxRooms: 10 },
        isDraining: () => false,
      } as unknown as CreationContext,
      join: async (_who: Joiner, frame: JoinFrame) => {
        joins.push(frame)
        if (joins.length === 1) throw new ChatError('room_not_found')
      },
    }
    const who = { user: user('alice'), address: '127.0.0.1', live: () => true } as Joiner
    await openDirect(engine, ctx, who, { action: 'direct', user_id: 'bob', ref: 3 })
    const room = directRoomId('alice', 'bob')
    expect(joins).toEqual([
      { action: 'join', room, ref: 3 },
      { action: 'join', room, ref: 3 },
    ])
    expect(created).toEqual([])
  })
})

describe('the direct frames', () => {
  it('parse with their fields and ref; a user_id that is no string is named', () => {
    expect(parseClientFrame({ action: 'direct', user_id: 'u2', ref: 1, room: 'x' })).toEqual({
      action: 'direct',
      user_id: 'u2',
      ref: 1,
    })
    expect(parseClientFrame({ action: 'directs', ref: 'r' })).toEqual({
      action: 'directs',
      ref: 'r',
    })
    for (const bad of [{}, { user_id: 5 }, { user_id: null }])
      expect(() => parseClientFrame({ action: 'direct', ...bad })).toThrow('"user_id"')
  })
})

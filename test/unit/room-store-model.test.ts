/**
 * Random sequences of everything clients and time can do to a RoomStore; after every
 * step the store's invariants must hold and nothing but a ChatError may be thrown.
 */
import { describe, expect, it } from 'bun:test'
import fc from 'fast-check'
import { defaultConfig } from '../../src/config.ts'
import type { Connection } from '../../src/domain/room.ts'
import { RoomStore } from '../../src/domain/room-store.ts'
import { ChatError } from '../../src/protocol/errors.ts'
import { FakeClock } from '../support/fake-clock.ts'
import { FakePeer, Hub } from '../support/fake-peer.ts'
import { RecordingLogger } from '../support/logger.ts'
import { fastHasher } from '../support/server.ts'

const ROOMS = ['general', 'alpha', 'beta']
const NAMES = ['ann', 'bob', 'cy', 'Ann']

const ci = fc.nat(5)
const room = fc.constantFrom(...ROOMS)
const name = fc.constantFrom(...NAMES)

const command = fc.oneof(
  fc.constant({ kind: 'connect' as const }),
  fc.record({ kind: fc.constant('join' as const), ci, room, name, token: fc.boolean() }),
  fc.record({ kind: fc.constant('create' as const), ci, room, name, password: fc.boolean() }),
  fc.record({ kind: fc.constant('leave' as const), ci, room }),
  fc.record({ kind: fc.constant('message' as const), ci, room }),
  fc.record({ kind: fc.constant('typing' as const), ci, room }),
  fc.record({ kind: fc.constant('drop' as const), ci }),
  fc.record({ kind: fc.constant('resume' as const), ci, of: ci }),
  fc.record({
    kind: fc.constant('moderate' as const),
    ci,
    room,
    name,
    action: fc.constantFrom('ban', 'kick', 'unban', 'mute', 'unmute'),
  }),
  fc.record({
    kind: fc.constant('advance' as const),
    ms: fc.constantFrom(100, 1000, 5000, 31_000, 301_000),
  }),
)

type Command = typeof command extends fc.Arbitrary<infer T> ? T : never

interface Conn {
  peer: FakePeer
  conn: Connection
  session: string
  /** The transport has told the store this socket closed. */
  gone: boolean
}

async function run(commands: Command[]): Promise<void> {
  const clock = new FakeClock()
  const hub = new Hub()
  const logger = new RecordingLogger()
  const store = new RoomStore(
    defaultConfig({ presenceDiffMinMembers: 3, presenceDiffIntervalMs: 50, logLevel: 'error' }),
    { clock, sink: hub, hasher: fastHasher, logger },
  )
  const conns: Conn[] = []
  const tokens = new Map<string, string>()
  const pick = (i: number) => conns[i % Math.max(1, conns.length)]
  for (const c of commands) {
    const who = 'ci' in c ? pick(c.ci) : undefined
    try {
      switch (c.kind) {
        case 'connect': {
          const peer = new FakePeer(hub)
          const conn = store.connect(peer)
          const welcome = peer.frames.find((f) => f.type === 'welcome')
          const session = welcome?.type === 'welcome' ? welcome.session : ''
          conns.push({ peer, conn, session, gone: false })
          break
        }
        case 'join':
          if (who) {
            const token = c.token ? tokens.get(c.room) : undefined
            await store.frames.join(who.conn, {
              action: 'join',
              room: c.room,
              username: c.name,
              token,
              password: 'pw',
            })
          }
          break
        case 'create':
          if (who) {
            await store.frames.create(who.conn, {
              action: 'create',
              name: c.room,
              username: c.name,
              ...(c.password ? { password: 'pw' } : {}),
            })
            const joined = who.peer.frames.findLast((f) => f.type === 'joined')
            if (joined?.type === 'joined' && joined.moderator_token)
              tokens.set(c.room, joined.moderator_token)
          }
          break
        case 'leave':
          if (who) await store.frames.leave(who.conn, c.room, undefined)
          break
        case 'message':
          if (who)
            store.frames.message(who.conn, { action: 'message', room: c.room, content: 'hi' })
          break
        case 'typing':
          if (who) store.frames.typing(who.conn, c.room)
          break
        case 'drop':
          if (who && !who.gone) {
            who.peer.close(1006, '')
            who.gone = true
            store.disconnect(who.conn)
          }
          break
        case 'resume': {
          const target = pick(c.of)
          if (who && target) store.resume(who.conn, { action: 'resume', session: target.session })
          break
        }
        case 'moderate':
          if (who) {
            const action = c.action
            if (action === 'mute') {
              await store.frames.moderate(who.conn, {
                action,
                room: c.room,
                username: c.name,
                duration_ms: 10_000,
              })
            } else await store.frames.moderate(who.conn, { action, room: c.room, username: c.name })
          }
          break
        case 'advance':
          clock.advance(c.ms)
          break
      }
    } catch (e) {
      if (!(e instanceof ChatError)) throw e
    }
    // A peer the store closed (takeover, flood, idle) is gone for the transport too.
    for (const x of conns) {
      if (x.peer.closedWith && store.selfCheck().length === 0 && x.conn.client)
        store.disconnect(x.conn)
    }
    expect({ after: c.kind, problems: store.selfCheck() }).toEqual({ after: c.kind, problems: [] })
  }
  store.close()
  expect(clock.pendingTimers()).toBe(0)
  expect(logger.errors()).toEqual([])
}

describe('RoomStore under random use', () => {
  it('keeps its indexes, sessions, timers and caches consistent', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 60 }), (commands) =>
        run(commands),
      ),
      { numRuns: 300, seed: 7 },
    )
  }, 30_000)
})

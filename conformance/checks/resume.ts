/**
 * Drops and resume. The grace itself is never waited out (welcome.resume_within_ms may be
 * 30 s): each check resumes well inside it, and skips when the server advertises none.
 */
import { assert, equal, like } from '../lib/assert.ts'
import type { Area } from '../lib/check.ts'
import type { Client, Frame } from '../lib/client.ts'
import type { Context } from '../lib/context.ts'
import { privateRoom } from './rooms.ts'

/** Two members of a fresh room, alice (to drop) and the room's moderator (who stays). */
export async function pairToDrop(ctx: Context, aliceNode = 0, modNode = 0) {
  const { client: mod, room: id } = await ctx.moderator(modNode)
  const alice = await ctx.connect(aliceNode)
  const aliceName = ctx.name('alice')
  const joined = await alice.join(id, aliceName)
  await mod.next('user_joined', (f) => f.username === aliceName)
  return { id, mod, alice, aliceName, joined }
}

/** Drops `alice` (a close without leave) and waits until `watcher` sees her offline. */
export async function drop(
  alice: Client,
  aliceName: string,
  room: string,
  watcher: Client,
): Promise<void> {
  const offline = watcher.next(
    'presence',
    (f) => f.room === room && f.username === aliceName && f.status === 'offline',
  )
  alice.close()
  await alice.closed
  like(
    await offline,
    { type: 'presence', room, username: aliceName, status: 'offline' },
    'presence offline',
  )
}

/** Posts `contents` as `poster` and returns them as the room delivered them. */
export async function post(poster: Client, room: string, contents: string[]): Promise<Frame[]> {
  const out: Frame[] = []
  for (const content of contents) {
    const got = poster.next('message', (f) => f.room === room && f.content === content)
    poster.send({ action: 'message', room, content })
    out.push(await got)
  }
  return out
}

/** Resumes `session` on `client` and returns `resumed` and the frames of `room` that follow, up to `count` messages. */
export async function resume(
  client: Client,
  session: string,
  lastIds: Record<string, string> | undefined,
  room: string,
  count: number,
) {
  const resumed = await client.expect(
    { action: 'resume', session, ...(lastIds ? { last_ids: lastIds } : {}) },
    'resumed',
  )
  const replayed: Frame[] = []
  while (replayed.length < count)
    replayed.push(await client.next(['message', 'system'], (f) => f.room === room))
  return { resumed, replayed }
}

export const resumeArea: Area = {
  area: 'resume',
  checks: [
    {
      name: 'a dropped member shows offline, then resumes with resumed and exactly the missed messages, in order, and shows online',
      async run(ctx) {
        const { id, mod, alice, aliceName } = await pairToDrop(ctx)
        ctx.resumeGrace(alice)
        const seen = await post(mod, id, ['before the drop'])
        await alice.next('message', (f) => f.id === seen[0]?.id)
        await drop(alice, aliceName, id, mod)
        const late = await ctx.connect()
        const seenByLate = await late.join(id, ctx.name('late'))
        like(
          (seenByLate.users as Frame[]).find((u) => u.username === aliceName),
          { status: 'offline' },
          'the dropped member in a user list',
        )
        await post(mod, id, ['missed 1', 'missed 2'])
        // Everything stored after the last id seen: the late joiner's join note, then the two.
        const stored = await mod.expect({ action: 'history', room: id, limit: 100 }, 'history')
        const missed = (stored.messages as Frame[]).filter((m) => m.id > String(seen[0]?.id))
        equal(
          missed.map((m) => m.content),
          [`${seenByLate.username} joined`, 'missed 1', 'missed 2'],
          'the history after the drop',
        )
        const online = mod.next(
          'presence',
          (f) => f.username === aliceName && f.status === 'online',
        )
        const again = await ctx.connect()
        const { resumed, replayed } = await resume(
          again,
          alice.session,
          { [id]: String(seen[0]?.id) },
          id,
          missed.length,
        )
        like(
          resumed,
          { type: 'resumed', room: id, username: aliceName, moderator: false, recovered: true },
          'resumed',
        )
        assert(Array.isArray(resumed.users), 'resumed.users must be a list')
        equal(
          replayed.map((f) => [f.type, f.id, f.content]),
          missed.map((m) => [m.type === 'text' ? 'message' : 'system', m.id, m.content]),
          'the replayed messages (a text as message, a note as system)',
        )
        await online
        const next = await post(mod, id, ['after the resume'])
        const after = await again.sync()
        const roomFrames = after.filter(
          (f) => f.room === id && (f.type === 'message' || f.type === 'system'),
        )
        equal(
          roomFrames.map((f) => f.id),
          next.map((m) => m.id),
          'messages after the replay (each once)',
        )
      },
    },
    {
      name: 'a resume without last_ids replays every kept message; the old token is spent, the new welcome session takes over',
      async run(ctx) {
        const { id, mod, alice, aliceName } = await pairToDrop(ctx)
        ctx.resumeGrace(alice)
        await drop(alice, aliceName, id, mod)
        const history = await mod.expect({ action: 'history', room: id, limit: 100 }, 'history')
        // A deleted message is replayed as its message_deleted, not as a message.
        const kept = (history.messages as Frame[]).filter(
          (m) => (m.type === 'text' || m.type === 'system') && m.deleted !== true,
        )
        const again = await ctx.connect()
        const { resumed, replayed } = await resume(again, alice.session, undefined, id, kept.length)
        like(resumed, { room: id, username: aliceName }, 'resumed')
        equal(
          replayed.map((f) => f.id),
          kept.map((m) => m.id),
          'the replay of the kept history',
        )
        const thief = await ctx.connect()
        await thief.refused({ action: 'resume', session: alice.session }, 'not_authorized')
        // The session now answers to the new connection's own welcome session.
        await drop(again, aliceName, id, mod)
        const third = await ctx.connect()
        like(
          await third.expect({ action: 'resume', session: again.session }, 'resumed'),
          { room: id, username: aliceName },
          'resumed with the new session',
        )
      },
    },
    {
      name: 'refuses an unknown session and one in no room (not_authorized), and a resume after a join (invalid_message)',
      async run(ctx) {
        const c = await ctx.connect()
        await c.refused(
          { action: 'resume', session: `no-such-session-${ctx.runId}` },
          'not_authorized',
        )
        // A session that never joined anything has nothing to resume.
        const idle = await ctx.connect()
        idle.close()
        await idle.closed
        await c.refused({ action: 'resume', session: idle.session }, 'not_authorized')
        const { client } = await ctx.member()
        await client.refused({ action: 'resume', session: c.session }, 'invalid_message')
      },
    },
    {
      name: 'a resume while the old connection is still open closes that one with 4001, with no presence change',
      async run(ctx) {
        const { id, mod, alice, aliceName } = await pairToDrop(ctx)
        ctx.resumeGrace(alice)
        const again = await ctx.connect()
        like(
          await again.expect({ action: 'resume', session: alice.session }, 'resumed'),
          { room: id, username: aliceName },
          'resumed',
        )
        equal((await alice.closed).code, 4001, 'the close code of the replaced connection')
        const [seen] = await ctx.sentinel(id, again, [mod])
        equal(
          seen?.filter(
            (f) => (f.type === 'presence' || f.type === 'user_left') && f.username === aliceName,
          ),
          [],
          'presence changes seen by the others',
        )
      },
    },
    {
      name: 'a room the member was banned or kicked from while away answers the resume with not_authorized for that room',
      async run(ctx) {
        const { id, mod, alice, aliceName } = await pairToDrop(ctx)
        ctx.resumeGrace(alice)
        // In a room to be kicked from, and in one to keep, so the session has a room to resume.
        const kickRoom = await ctx.room()
        await alice.join(kickRoom.id, aliceName)
        const kept = await privateRoom(ctx)
        await alice.join(kept.id, aliceName, { password: kept.password })
        await drop(alice, aliceName, id, mod)
        await mod.expect({ action: 'ban', room: id, username: aliceName }, 'moderated')
        await kickRoom.mod.expect(
          { action: 'kick', room: kickRoom.id, username: aliceName },
          'moderated',
        )
        const again = await ctx.connect()
        const banned = again.next('error', (f) => f.room === id)
        const kicked = again.next('error', (f) => f.room === kickRoom.id)
        const resumed = again.next('resumed', (f) => f.room === kept.id)
        again.send({ action: 'resume', session: alice.session })
        like(
          await banned,
          { code: 'not_authorized', room: id },
          'the error for the room banned from',
        )
        like(
          await kicked,
          { code: 'not_authorized', room: kickRoom.id },
          'the error for the room kicked from',
        )
        await resumed
        const after = await again.sync()
        const removed = [id, kickRoom.id]
        equal(
          after.filter((f) => removed.includes(f.room) && f.type !== 'error'),
          [],
          'frames of the rooms after the removal',
        )
      },
    },
  ],
}

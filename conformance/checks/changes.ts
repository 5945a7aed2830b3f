/** Edits, deletes and reactions: who may, the frames, the stored state, the replay on resume. */
import { assert, equal, like } from '../lib/assert.ts'
import type { Area } from '../lib/check.ts'
import type { Client, Frame } from '../lib/client.ts'

/** Posts `content` to `room` and returns the sender's copy (with its id). */
async function say(c: Client, room: string, content: string): Promise<Frame> {
  const echo = c.next('message', (f) => f.room === room && f.content === content)
  c.send({ action: 'message', room, content })
  return echo
}

/** The stored message `id` of `room`, over REST. */
async function stored(
  http: (path: string) => Promise<{ body: Frame }>,
  room: string,
  id: string,
): Promise<Frame | undefined> {
  const reply = await http(`/rooms/${encodeURIComponent(room)}/messages?limit=100`)
  return (reply.body.messages as Frame[]).find((m) => m.id === id)
}

export const changes: Area = {
  area: 'changes',
  checks: [
    {
      name: 'the sender edits a message: message_edited to every member, the history shows the latest text',
      async run(ctx) {
        const { client: alice, room } = await ctx.member()
        const { client: bob } = await ctx.member()
        const sent = await say(alice, room, ctx.name('draft'))
        const seen = bob.next('message_edited', (f) => f.id === sent.id)
        alice.send({ action: 'edit', room, id: sent.id, content: 'edited text' })
        const edited = await seen
        like(edited, { type: 'message_edited', room, id: sent.id, content: 'edited text' }, 'edit')
        assert(typeof edited.edited_at === 'number', 'message_edited.edited_at is ms')
        assert(/^\d{12}$/.test(String(edited.event_id)), 'message_edited.event_id is an id')
        like(
          await stored((p) => ctx.http(p), room, String(sent.id)),
          { content: 'edited text', edited_at: edited.edited_at },
          'the stored message',
        )
      },
    },
    {
      name: 'refuses an edit by another member (not_authorized) and of an unknown id (message_not_found)',
      async run(ctx) {
        const { client: alice, room } = await ctx.member()
        const { client: bob } = await ctx.member()
        const sent = await say(alice, room, ctx.name('mine'))
        await bob.refused({ action: 'edit', room, id: sent.id, content: 'x' }, 'not_authorized')
        await alice.refused(
          { action: 'edit', room, id: '999999999999', content: 'x' },
          'message_not_found',
        )
      },
    },
    {
      name: 'the sender deletes: message_deleted with by; the history keeps a tombstone',
      async run(ctx) {
        const { client: alice, username, room } = await ctx.member()
        const sent = await say(alice, room, ctx.name('oops'))
        const gone = alice.next('message_deleted', (f) => f.id === sent.id)
        alice.send({ action: 'delete', room, id: sent.id })
        like(await gone, { type: 'message_deleted', room, id: sent.id, by: username }, 'delete')
        const tomb = await stored((p) => ctx.http(p), room, String(sent.id))
        like(tomb, { id: sent.id, deleted: true }, 'the tombstone')
        assert(tomb?.content === undefined, 'a tombstone has no content')
        await alice.refused(
          { action: 'edit', room, id: sent.id, content: 'x' },
          'message_not_found',
        )
      },
    },
    {
      name: 'a reaction is counted once per user and cleared; a bad emoji is invalid_message',
      async run(ctx) {
        const { client: alice, room } = await ctx.member()
        const { client: bob, username: bobName } = await ctx.member()
        const sent = await say(alice, room, ctx.name('react'))
        const react = async (on: boolean) => {
          const got = bob.next('reaction', (f) => f.id === sent.id && f.username === bobName)
          bob.send({ action: 'react', room, id: sent.id, emoji: '👍', on })
          return got
        }
        like(await react(true), { type: 'reaction', emoji: '👍', on: true, count: 1 }, 'set')
        like(await react(true), { count: 1 }, 'set again')
        equal(
          (await stored((p) => ctx.http(p), room, String(sent.id)))?.reactions,
          { '👍': { count: 1, users: [bobName] } },
          'the stored reactions',
        )
        like(await react(false), { on: false, count: 0 }, 'cleared')
        await bob.refused(
          { action: 'react', room, id: sent.id, emoji: 'not one', on: true },
          'invalid_message',
        )
      },
    },
    {
      name: 'a read marker goes to the others as read, only forward; joined carries read and unread',
      async run(ctx) {
        const { client: alice, username: aliceName, room } = await ctx.member()
        const { client: bob, username: bobName } = await ctx.member()
        const first = await say(bob, room, ctx.name('one'))
        const second = await say(bob, room, ctx.name('two'))
        await alice.next('message', (f) => f.id === second.id)
        const seen = bob.next('read', (f) => f.username === aliceName)
        alice.send({ action: 'read', room, id: second.id })
        like(await seen, { type: 'read', room, username: aliceName, id: second.id }, 'read')
        // An older id is ignored: no error, nothing sent.
        alice.send({ action: 'read', room, id: first.id })
        const after = await alice.sync()
        assert(!after.some((f) => f.type === 'error'), 'an older marker is no error')
        const carol = await ctx.connect()
        const joined = await carol.join(room, ctx.name('carol'))
        equal((joined.read as Frame)[aliceName], second.id, "joined.read has alice's marker")
        assert(typeof joined.unread === 'number', 'joined.unread is a number')
        assert((joined.read as Frame)[bobName] === undefined, 'no marker for who never read')
      },
    },
    {
      name: 'an edit made while away is replayed on resume after the messages before it, once',
      async run(ctx) {
        const { client: alice, room } = await ctx.member()
        ctx.resumeGrace(alice)
        const { client: bob } = await ctx.member()
        const first = await say(bob, room, ctx.name('first'))
        await alice.next('message', (f) => f.id === first.id)
        alice.close()
        const edited = bob.next('message_edited', (f) => f.id === first.id)
        bob.send({ action: 'edit', room, id: first.id, content: 'first, edited' })
        const change = await edited
        const again = await ctx.connect()
        again.send({
          action: 'resume',
          session: alice.welcome.session,
          last_ids: { [room]: first.id },
        })
        await again.next('resumed', (f) => f.room === room)
        const replay = await again.until('message_edited', (f) => f.id === first.id)
        equal(replay.frame, change, 'the replayed edit')
        const after = await again.sync()
        assert(!after.some((f) => f.type === 'message_edited'), 'the edit is replayed once')
      },
    },
  ],
}

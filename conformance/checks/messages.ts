/** Messages, history, replies and typing. */
import { assert, equal, isMessageId, like } from '../lib/assert.ts'
import type { Area } from '../lib/check.ts'
import type { Client, Frame } from '../lib/client.ts'

/** The next `count` messages of `room` this client gets. */
async function messages(c: Client, room: string, count: number, from?: string): Promise<Frame[]> {
  const out: Frame[] = []
  while (out.length < count)
    out.push(
      await c.next('message', (f) => f.room === room && (from === undefined || f.sender === from)),
    )
  return out
}

export const messagesArea: Area = {
  area: 'messages',
  checks: [
    {
      name: 'delivers a message to every member, the sender included, exactly as sent',
      async run(ctx) {
        const { client: mod, username: modName, room: id } = await ctx.member()
        const { client: bob } = await ctx.member()
        const content = 'line one\nline <two> & "three" 🎉 ünïcødé'
        const own = mod.next('message', (f) => f.room === id && f.sender === modName)
        const theirs = bob.next('message', (f) => f.room === id && f.sender === modName)
        mod.send({ action: 'message', room: id, content })
        const a = await own
        const b = await theirs
        like(a, { type: 'message', room: id, sender: modName, content }, 'the message')
        assert(isMessageId(a.id), `message.id must be 12 digits: ${a.id}`)
        assert(
          typeof a.ts === 'number' && Math.abs(a.ts - Date.now()) < 10 * 60_000,
          `message.ts must be ms since the epoch: ${a.ts}`,
        )
        equal(b, a, 'the copy of another member')
      },
    },
    {
      name: 'gives every member the same order, with increasing ids, the same as the history',
      async run(ctx) {
        const { id, mod, modName } = await ctx.room()
        const bob = await ctx.connect()
        const bobName = ctx.name('bob')
        await bob.join(id, bobName)
        for (let i = 0; i < 5; i++) {
          mod.send({ action: 'message', room: id, content: `m${i}` })
          bob.send({ action: 'message', room: id, content: `b${i}` })
        }
        const seenByMod = await messages(mod, id, 10)
        const seenByBob = await messages(bob, id, 10)
        equal(
          seenByBob.map((m) => m.id),
          seenByMod.map((m) => m.id),
          'the order at two members',
        )
        const ids = seenByMod.map((m) => m.id as string)
        for (let i = 1; i < ids.length; i++)
          assert((ids[i] as string) > (ids[i - 1] as string), `ids must increase: ${ids.join(',')}`)
        const fromMod = seenByMod.filter((m) => m.sender === modName).map((m) => m.content)
        equal(fromMod, ['m0', 'm1', 'm2', 'm3', 'm4'], "one sender's messages in the order sent")
        const history = await bob.expect({ action: 'history', room: id, limit: 100 }, 'history')
        const texts = (history.messages as Frame[]).filter((m) => m.type === 'text')
        equal(
          texts.map((m) => m.id),
          ids,
          'the history order',
        )
        const m0 = seenByMod.find((m) => m.content === 'm0')
        like(
          texts.find((m) => m.id === m0?.id),
          { type: 'text', sender: modName, content: 'm0', room_id: id, timestamp: m0?.ts },
          'a stored message',
        )
      },
    },
    {
      name: 'history pages with limit and before, oldest first, with has_more; limit outside 1–100 is invalid_message',
      async run(ctx) {
        const { id, mod } = await ctx.room()
        for (let i = 0; i < 4; i++) mod.send({ action: 'message', room: id, content: `h${i}` })
        const sent = await messages(mod, id, 4)
        const all = await mod.expect({ action: 'history', room: id }, 'history')
        equal(all.has_more, false, 'has_more of the whole history')
        const last2 = await mod.expect({ action: 'history', room: id, limit: 2 }, 'history')
        equal(
          (last2.messages as Frame[]).map((m) => m.content),
          ['h2', 'h3'],
          'the last two',
        )
        equal(last2.has_more, true, 'has_more of a part')
        const before = await mod.expect(
          { action: 'history', room: id, before: sent[2]?.id, limit: 2 },
          'history',
        )
        equal(
          (before.messages as Frame[]).map((m) => m.content),
          ['h0', 'h1'],
          'the two before h2',
        )
        await mod.refused({ action: 'history', room: id, limit: 0 }, 'invalid_message')
        await mod.refused({ action: 'history', room: id, limit: 101 }, 'invalid_message')
        const joined = await (await ctx.connect()).join(id, ctx.name('late'))
        const kept = (joined.history as Frame[])
          .filter((m) => m.type === 'text')
          .map((m) => m.content)
        equal(kept, ['h0', 'h1', 'h2', 'h3'], 'joined.history, oldest first')
      },
    },
    {
      name: 'refuses empty, whitespace-only and zero-width-only content with invalid_message, delivering nothing',
      async run(ctx) {
        const { client: mod, username: modName, room: id } = await ctx.member()
        const { client: bob } = await ctx.member()
        for (const content of ['', '   ', '\n\t', '\u200b\u200b'])
          await mod.refused({ action: 'message', room: id, content }, 'invalid_message')
        const [seen] = await ctx.sentinel(id, mod, [bob])
        equal(
          seen?.filter((f) => f.type === 'message' && f.sender === modName),
          [],
          'refused messages delivered',
        )
      },
    },
    {
      name: 'carries reply_to on a reply; a reply_to that is no kept message is message_not_found',
      async run(ctx) {
        const { client: mod, username: modName, room: id } = await ctx.member()
        mod.send({ action: 'message', room: id, content: 'question' })
        const [first] = await messages(mod, id, 1, modName)
        mod.send({ action: 'message', room: id, content: 'answer', reply_to: first?.id })
        const [reply] = await messages(mod, id, 1, modName)
        like(reply, { content: 'answer', reply_to: first?.id }, 'the reply')
        const history = await mod.expect({ action: 'history', room: id, limit: 1 }, 'history')
        like(history.messages, [{ content: 'answer', reply_to: first?.id }], 'the stored reply')
        await mod.refused(
          { action: 'message', room: id, content: 'lost', reply_to: '999999999999' },
          'message_not_found',
        )
      },
    },
    {
      name: 'sends typing to the others only, and active:false when the typist sends a message',
      async run(ctx) {
        const { client: mod, username: modName, room: id } = await ctx.member()
        const { client: bob } = await ctx.member()
        // Typing is not stored: a message both see first proves the newcomer is getting the
        // room's live events (on a cluster, a joiner's node may still be catching up).
        await ctx.sentinel(id, mod, [bob])
        const typing = bob.next(
          'typing',
          (f) => f.room === id && f.username === modName && f.active === true,
        )
        mod.send({ action: 'typing', room: id })
        like(await typing, { type: 'typing', room: id, username: modName, active: true }, 'typing')
        const stopped = bob.next('typing', (f) => f.username === modName && f.active === false)
        const message = bob.next('message', (f) => f.content === 'done typing')
        mod.send({ action: 'message', room: id, content: 'done typing' })
        await Promise.all([stopped, message])
        const mine = await mod.sync()
        equal(
          mine.filter((f) => f.type === 'typing' && f.username === modName),
          [],
          'typing sent to the typist',
        )
      },
    },
  ],
}

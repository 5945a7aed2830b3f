/** Moderation: kick, ban, unban, mute, unmute, who may, and the REST ban list. */
import { assert, equal, like } from '../lib/assert.ts'
import type { Area } from '../lib/check.ts'

export const moderation: Area = {
  area: 'moderation',
  checks: [
    {
      name: 'kick: moderated to the moderator, kicked to the member, a system frame to the room; the member may come back',
      async run(ctx) {
        const { client: mod, username: modName, room: id } = await ctx.moderator()
        const bob = await ctx.connect()
        const bobName = ctx.name('bob')
        await bob.join(id, bobName)
        const kicked = bob.next('kicked', (f) => f.room === id)
        const system = mod.next(
          'system',
          (f) => f.room === id && String(f.content).includes(bobName),
        )
        like(
          await mod.expect({ action: 'kick', room: id, username: bobName }, 'moderated'),
          { room: id, action: 'kick' },
          'moderated',
        )
        like(await kicked, { type: 'kicked', room: id, by: modName }, 'kicked')
        const note = await system
        assert(
          typeof note.content === 'string' && note.content.includes(bobName),
          `the system frame should name the member: ${JSON.stringify(note)}`,
        )
        await bob.refused({ action: 'message', room: id, content: 'still here?' }, 'not_authorized')
        await bob.join(id, bobName)
      },
    },
    {
      name: 'ban keeps the name and the session out until unban; others may not moderate; nobody may act on themselves',
      async run(ctx) {
        const { client: mod, username: modName, room: id } = await ctx.moderator()
        const bob = await ctx.connect()
        const bobName = ctx.name('bob')
        await bob.join(id, bobName)
        await bob.refused({ action: 'kick', room: id, username: modName }, 'not_authorized')
        await bob.refused({ action: 'ban', room: id, username: modName }, 'not_authorized')
        await mod.refused({ action: 'ban', room: id, username: modName }, 'invalid_message')
        await mod.refused({ action: 'kick', room: id, username: modName }, 'invalid_message')
        const banned = bob.next('banned', (f) => f.room === id)
        like(
          await mod.expect({ action: 'ban', room: id, username: bobName }, 'moderated'),
          { action: 'ban' },
          'moderated',
        )
        like(await banned, { type: 'banned', room: id, by: modName }, 'banned')
        await bob.refused({ action: 'join', room: id, username: bobName }, 'not_authorized')
        await bob.refused(
          { action: 'join', room: id, username: ctx.name('newname') },
          'not_authorized',
        )
        const other = await ctx.connect()
        await other.refused({ action: 'join', room: id, username: bobName }, 'not_authorized')
        like(
          await mod.expect({ action: 'unban', room: id, username: bobName }, 'moderated'),
          { action: 'unban' },
          'moderated',
        )
        await bob.join(id, bobName)
      },
    },
    {
      name: "mute refuses the member's messages with not_authorized until unmute; duration_ms must be 1 ms to 7 days",
      async run(ctx) {
        const { client: mod, room: id } = await ctx.moderator()
        const bob = await ctx.connect()
        const bobName = ctx.name('bob')
        await bob.join(id, bobName)
        await mod.refused({ action: 'mute', room: id, username: bobName }, 'invalid_message')
        await mod.refused(
          { action: 'mute', room: id, username: bobName, duration_ms: 0 },
          'invalid_message',
        )
        await mod.refused(
          { action: 'mute', room: id, username: bobName, duration_ms: 7 * 24 * 3600 * 1000 + 1 },
          'invalid_message',
        )
        const system = mod.next(
          'system',
          (f) => f.room === id && String(f.content).includes(bobName),
        )
        like(
          await mod.expect(
            { action: 'mute', room: id, username: bobName, duration_ms: 600_000 },
            'moderated',
          ),
          { action: 'mute' },
          'moderated',
        )
        await system
        await bob.refused({ action: 'message', room: id, content: 'muted?' }, 'not_authorized')
        like(
          await mod.expect({ action: 'unmute', room: id, username: bobName }, 'moderated'),
          { action: 'unmute' },
          'moderated',
        )
        const back = mod.next('message', (f) => f.content === 'unmuted')
        bob.send({ action: 'message', room: id, content: 'unmuted' })
        await back
      },
    },
    {
      name: 'GET /rooms/{id}/bans lists bans with the moderator token; 401 without one, 403 with a wrong one',
      async run(ctx) {
        const { id, mod, modName, joined } = await ctx.room()
        // A fresh room: its ban list holds only this ban.
        const target = ctx.name('spammer')
        await mod.expect({ action: 'ban', room: id, username: target }, 'moderated')
        const list = await ctx.http(`/rooms/${id}/bans`, {
          headers: { authorization: `Bearer ${joined.moderator_token}` },
        })
        equal(list.status, 200, 'status')
        like(list.body.bans, [{ username: target, by: modName }], 'bans')
        assert(typeof list.body.bans[0]?.at === 'number', 'a ban has at (ms)')
        like(
          await ctx.http(`/rooms/${id}/bans`),
          { status: 401, body: { error: { code: 'not_authorized' } } },
          'no token',
        )
        like(
          await ctx.http(`/rooms/${id}/bans`, { headers: { authorization: 'Bearer wrong' } }),
          { status: 403, body: { error: { code: 'not_authorized' } } },
          'a wrong token',
        )
      },
    },
  ],
}

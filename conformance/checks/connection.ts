/** The connection itself: welcome, ping, refs, malformed frames, frame order. */
import { assert, equal, like } from '../lib/assert.ts'
import type { Area } from '../lib/check.ts'

export const connection: Area = {
  area: 'connection',
  checks: [
    {
      name: 'sends welcome first, with a session and resume_within_ms',
      async run(ctx) {
        const c = await ctx.connect()
        assert(
          typeof c.welcome.session === 'string' && c.welcome.session.length > 0,
          `welcome.session must be a non-empty string: ${JSON.stringify(c.welcome)}`,
        )
        const ms = c.welcome.resume_within_ms
        assert(
          Number.isInteger(ms) && ms >= 0,
          `welcome.resume_within_ms must be a whole number of ms: ${JSON.stringify(c.welcome)}`,
        )
        const other = await ctx.connect()
        assert(other.session !== c.session, 'two connections got the same session')
      },
    },
    {
      name: 'answers ping with pong, echoing a string or a number ref',
      async run(ctx) {
        const c = await ctx.connect()
        const pong = c.next('pong', (f) => f.ref === 'p-1')
        c.send({ action: 'ping', ref: 'p-1' })
        like(await pong, { type: 'pong', ref: 'p-1' }, 'pong')
        const numbered = c.next('pong', (f) => f.ref === 42)
        c.send({ action: 'ping', ref: 42 })
        like(await numbered, { type: 'pong', ref: 42 }, 'pong with a number ref')
        const sixtyFour = 'x'.repeat(64)
        const long = c.next('pong', (f) => f.ref === sixtyFour)
        c.send({ action: 'ping', ref: sixtyFour })
        await long
      },
    },
    {
      name: 'answers a ref over 64 characters with invalid_message',
      async run(ctx) {
        const c = await ctx.connect()
        const error = c.next('error')
        c.send({ action: 'ping', ref: 'x'.repeat(65) })
        like(await error, { code: 'invalid_message' }, 'error')
        await c.sync()
      },
    },
    {
      name: 'answers text that is not JSON, a binary frame and JSON that is not an object with invalid_message, and stays open',
      async run(ctx) {
        const c = await ctx.connect()
        const bad: (string | Uint8Array)[] = [
          'hello',
          '{"action":',
          new TextEncoder().encode('{"action":"ping"}'),
          '[1,2]',
          '123',
          '"ping"',
          'null',
          'true',
        ]
        for (const data of bad) {
          const error = c.next('error')
          c.sendRaw(data)
          const frame = await error
          like(
            frame,
            { type: 'error', code: 'invalid_message' },
            `the answer to ${typeof data === 'string' ? data : 'a binary frame'}`,
          )
        }
        const left = await c.sync()
        equal(left, [], 'frames after the errors')
        assert(c.isOpen, 'the connection closed')
      },
    },
    {
      name: 'answers an unknown or missing action and a wrongly typed field with invalid_message, echoing ref',
      async run(ctx) {
        const c = await ctx.connect()
        await c.refused({ action: 'dance' }, 'invalid_message')
        await c.refused({ room: 'x' }, 'invalid_message')
        await c.refused({ action: 'join', room: 5, username: 'alice' }, 'invalid_message')
        await c.refused({ action: 'join', username: 'alice' }, 'invalid_message')
        await c.refused({ action: 'message', room: 'x', content: 7 }, 'invalid_message')
        await c.refused({ action: 'history', room: 'x', limit: 'ten' }, 'invalid_message')
        assert(c.isOpen, 'the connection closed')
      },
    },
    {
      name: 'handles the frames of one connection in the order they were sent',
      async run(ctx) {
        const room = await ctx.shared()
        const c = await ctx.connect()
        const username = ctx.name('order')
        const refs = ['o-join', 'o-msg', 'o-hist', 'o-leave', 'o-ping']
        c.send({ action: 'join', room, username, ref: 'o-join' })
        c.send({ action: 'message', room, content: 'in order', ref: 'o-msg' })
        c.send({ action: 'history', room, limit: 5, ref: 'o-hist' })
        c.send({ action: 'leave', room, ref: 'o-leave' })
        c.send({ action: 'ping', ref: 'o-ping' })
        await c.next('pong', (f) => f.ref === 'o-ping')
        const replies = c.frames
          .filter((f) => refs.includes(f.ref) && f.type !== 'message')
          .map((f) => `${f.type}:${f.ref}`)
        // A message has no direct reply of its own: the member's own copy is its answer.
        equal(
          replies,
          ['joined:o-join', 'history:o-hist', 'left:o-leave', 'pong:o-ping'],
          'direct replies in order',
        )
        const types = c.frames.map((f) => f.type)
        const own = types.indexOf('message')
        assert(
          own > types.indexOf('joined') && own < types.indexOf('history'),
          `the member's own message must come between joined and history: ${types.join(',')}`,
        )
        const history = c.frames.find((f) => f.ref === 'o-hist')
        assert(
          history?.messages.some(
            (m: { content: string; sender: string }) =>
              m.content === 'in order' && m.sender === username,
          ),
          'the history must hold the message sent before it',
        )
      },
    },
  ],
}

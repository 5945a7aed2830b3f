/**
 * Limits. The protocol fixes some (a name's 32 characters, history's 1–100, a ref's 64, a
 * mute's 7 days, at least 50 frames in a burst): those are checked everywhere (here and in
 * the other areas). The others are settings; they are checked only when the operator passes
 * the server's value (--max-payload-bytes, --max-content-chars, --rate-limit-burst).
 */
import { assert, equal, like, Skip } from '../lib/assert.ts'
import type { Area } from '../lib/check.ts'
import type { Frame } from '../lib/client.ts'

export const limits: Area = {
  area: 'limits',
  checks: [
    {
      name: 'takes a burst of 50 frames from one connection without refusing any',
      async run(ctx) {
        const c = await ctx.connect()
        for (let i = 0; i < 50; i++) c.send({ action: 'ping', ref: `burst-${i}` })
        const replies: Frame[] = []
        while (replies.length < 50)
          replies.push(await c.next(['pong', 'error'], (f) => String(f.ref).startsWith('burst-')))
        equal(
          replies.filter((f) => f.type === 'error'),
          [],
          'refusals in a burst of 50',
        )
      },
    },
    {
      name: 'a username of 32 characters is taken, 33 are invalid_message',
      async run(ctx) {
        const room = await ctx.shared()
        const c = await ctx.connect()
        const base = `${ctx.runId}${'n'.repeat(26)}`
        await c.refused({ action: 'join', room, username: `${base}x` }, 'invalid_message')
        like(await c.join(room, base), { username: base }, 'joined with 32 characters')
      },
    },
    {
      name: 'closes a frame over MAX_PAYLOAD_BYTES with 1009',
      async run(ctx) {
        const max = ctx.options.maxPayloadBytes
        if (max === undefined)
          throw new Skip("needs --max-payload-bytes (the server's MAX_PAYLOAD_BYTES)")
        const c = await ctx.connect()
        const frame = (size: number) => {
          const head = '{"action":"ping","ref":"size","pad":"'
          return `${head}${'p'.repeat(size - head.length - 2)}"}`
        }
        const fits = c.next('pong', (f) => f.ref === 'size')
        c.sendRaw(frame(max))
        await fits
        c.sendRaw(frame(max + 1))
        equal((await c.closed).code, 1009, 'the close code')
      },
    },
    {
      name: 'takes MAX_CONTENT_CHARS characters counted in code points; one more is invalid_message',
      async run(ctx) {
        const max = ctx.options.maxContentChars
        if (max === undefined)
          throw new Skip("needs --max-content-chars (the server's MAX_CONTENT_CHARS)")
        const { client, room } = await ctx.member()
        // Emoji are two UTF-16 units each: a count in units would refuse this.
        const content = '😀'.repeat(max)
        const got = client.next('message', (f) => f.room === room && f.content === content)
        client.send({ action: 'message', room, content })
        await got
        await client.refused({ action: 'message', room, content: `${content}x` }, 'invalid_message')
      },
    },
    {
      name: 'refuses messages past RATE_LIMIT_BURST with rate_limited, delivering none of them',
      async run(ctx) {
        const burst = ctx.options.rateLimitBurst
        if (burst === undefined)
          throw new Skip("needs --rate-limit-burst (the server's RATE_LIMIT_BURST)")
        const { client: mod, room: id } = await ctx.member()
        const { client: bob } = await ctx.member()
        const count = burst + 5
        for (let i = 0; i < count; i++)
          mod.send({ action: 'message', room: id, content: `rate ${i}`, ref: `rate-${i}` })
        const refused: Frame[] = []
        const accepted: Frame[] = []
        while (refused.length + accepted.length < count) {
          const f = await mod.next(['message', 'error'], (x) =>
            x.type === 'error'
              ? String(x.ref).startsWith('rate-')
              : String(x.content).startsWith('rate '),
          )
          ;(f.type === 'error' ? refused : accepted).push(f)
        }
        assert(refused.length > 0, `no rate_limited among ${count} messages sent at once`)
        assert(
          refused.every((f) => f.code === 'rate_limited'),
          `refusals: ${JSON.stringify(refused.slice(0, 3))}`,
        )
        assert(
          accepted.length >= burst,
          `only ${accepted.length} of a burst of ${burst} were taken`,
        )
        const [seen] = await ctx.sentinel(id, bob, [bob])
        const delivered = (seen ?? []).filter(
          (f) => f.type === 'message' && String(f.content).startsWith('rate '),
        )
        equal(
          delivered.length,
          accepted.length,
          'messages delivered to the others (the refused ones must not be)',
        )
      },
    },
  ],
}

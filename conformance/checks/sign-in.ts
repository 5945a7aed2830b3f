/**
 * Sign-in (AUTH_MODE, read from GET /auth). Tokens are minted with --jwt-secret (HS256);
 * without it, the checks that need one skip.
 */
import { equal, like, Skip } from '../lib/assert.ts'
import type { Area } from '../lib/check.ts'
import type { Context } from '../lib/context.ts'

async function signedIn(ctx: Context): Promise<string> {
  const mode = await ctx.authMode()
  if (mode === 'off') throw new Skip('AUTH_MODE is off (GET /auth)')
  return mode
}

export const signIn: Area = {
  area: 'sign-in',
  checks: [
    {
      name: 'with AUTH_MODE off, auth is invalid_message',
      async run(ctx) {
        const mode = await ctx.authMode()
        if (mode !== 'off') throw new Skip(`AUTH_MODE is ${mode} (GET /auth)`)
        const c = await ctx.connect()
        await c.refused({ action: 'auth', token: 'a.b.c' }, 'invalid_message')
      },
    },
    {
      name: 'auth answers authenticated with the user and expires_at; a join takes the name from the token',
      async run(ctx) {
        await signedIn(ctx)
        const sub = ctx.name('sub')
        const name = `Signed ${ctx.runId}`
        const token = await ctx.token({ sub, name }, 600)
        const c = await ctx.connect()
        const reply = await c.expect({ action: 'auth', token }, 'authenticated')
        like(reply, { type: 'authenticated', user: { id: sub, name } }, 'authenticated')
        const exp = JSON.parse(
          atob(String(token.split('.')[1]).replace(/-/g, '+').replace(/_/g, '/')),
        ).exp
        equal(reply.expires_at, exp * 1000, "expires_at (ms) against the token's exp (s)")
        const joined = await c.join(await ctx.shared(), 'ignored-name')
        like(joined, { username: name }, 'joined')
        like(
          joined.users.find((u: { username: string }) => u.username === name),
          { user_id: sub },
          'the user in users',
        )
      },
    },
    {
      name: 'refuses a bad signature, an expired token and a refresh for another sub with invalid_token, keeping the sign-in',
      async run(ctx) {
        await signedIn(ctx)
        const sub = ctx.name('sub')
        const c = await ctx.connect()
        await c.expect({ action: 'auth', token: await ctx.token({ sub }) }, 'authenticated')
        const forged = await ctx.token({ sub }, 600, `not-the-secret-${'x'.repeat(32)}`)
        await c.refused({ action: 'auth', token: forged }, 'invalid_token')
        await c.refused(
          { action: 'auth', token: await ctx.token({ sub }, -86_400) },
          'invalid_token',
        )
        await c.refused(
          { action: 'auth', token: await ctx.token({ sub: ctx.name('other') }) },
          'invalid_token',
        )
        await c.refused({ action: 'auth', token: 'not.a.jwt' }, 'invalid_token')
        like(
          await c.expect({ action: 'auth', token: await ctx.token({ sub }) }, 'authenticated'),
          { user: { id: sub } },
          'a refresh for the same sub',
        )
      },
    },
    {
      name: 'before signing in: required mode answers unauthenticated (ping works); optional mode lets an anonymous user join',
      async run(ctx) {
        const mode = await signedIn(ctx)
        const c = await ctx.connect()
        const room = await ctx.shared()
        if (mode === 'required') {
          await c.refused({ action: 'join', room, username: ctx.name('anon') }, 'unauthenticated')
          await c.expect({ action: 'ping' }, 'pong')
        } else {
          const joined = await c.join(room, ctx.name('anon'))
          equal(
            joined.users.find((u: { username: string }) => u.username === joined.username)?.user_id,
            undefined,
            'user_id of an anonymous user',
          )
        }
      },
    },
    {
      name: 'direct opens one room for two signed-in users, from either side; the other is told of the first message; others are refused',
      async run(ctx) {
        await signedIn(ctx)
        const on = async (sub: string, name: string) => {
          const c = await ctx.connect()
          await c.expect({ action: 'auth', token: await ctx.token({ sub, name }) }, 'authenticated')
          return c
        }
        const aSub = ctx.name('dm-a')
        const bSub = ctx.name('dm-b')
        const a = await on(aSub, `A ${ctx.runId}`)
        const b = await on(bSub, `B ${ctx.runId}`)
        const opened = await a.expect({ action: 'direct', user_id: bSub }, 'joined')
        const room = String(opened.room)
        like(opened, { type: 'joined', moderator: false }, 'the direct room joined')
        // b, connected but not in it, hears of the first message.
        const told = b.next('direct', (f) => f.room === room)
        a.send({ action: 'message', room, content: 'hello you' })
        like(await told, { type: 'direct', room, from: { user_id: aSub } }, 'the direct notice')
        const fromB = await b.expect({ action: 'direct', user_id: aSub }, 'joined')
        equal(fromB.room, room, 'the same room from the other side')
        const c = await on(ctx.name('dm-c'), `C ${ctx.runId}`)
        await c.refused({ action: 'join', room }, 'not_authorized')
        const anon = await ctx.connect()
        await anon.refused({ action: 'direct', user_id: aSub }, 'not_authorized')
      },
    },
  ],
}

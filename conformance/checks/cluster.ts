/** Several nodes of one cluster (--url more than once): the same rooms, members and sessions everywhere. */
import { assert, equal, like } from '../lib/assert.ts'
import type { Area } from '../lib/check.ts'
import type { Frame } from '../lib/client.ts'
import { json } from '../lib/http.ts'
import { drop, pairToDrop, post, resume } from './resume.ts'

export const cluster: Area = {
  area: 'cluster',
  checks: [
    {
      name: 'each node names itself in /health, and a room created on one is served by every node',
      async run(ctx) {
        ctx.requireCluster()
        const ids = new Set<string>()
        for (let n = 0; n < ctx.nodes; n++)
          ids.add(String((await ctx.http('/health', {}, n)).body.node))
        equal(ids.size, ctx.nodes, `distinct node names in /health (${[...ids].join(', ')})`)
        const name = ctx.name('Cluster Room')
        equal(
          (await ctx.http('/rooms', json('POST', { name }), 0)).status,
          201,
          'POST /rooms on node 1',
        )
        const id = name.toLowerCase().replace(/ /g, '-')
        for (let n = 1; n < ctx.nodes; n++) {
          like(
            await ctx.http(`/rooms/${id}`, {}, n),
            { status: 200, body: { id, name } },
            `GET /rooms/{id} on node ${n + 1}`,
          )
        }
      },
    },
    {
      name: 'members on two nodes see each other join, type, post in one order and leave',
      async run(ctx) {
        ctx.requireCluster()
        const { client: alice, username: aliceName, room } = await ctx.member(0, 'alice')
        const bob = await ctx.connect(1)
        const bobName = ctx.name('bob')
        const told = alice.next('user_joined', (f) => f.room === room && f.username === bobName)
        const joined = await bob.join(room, bobName)
        assert(
          (joined.users as Frame[]).some((u) => u.username === aliceName),
          `joined.users on node 2 must list alice of node 1: ${JSON.stringify(joined.users)}`,
        )
        await told
        // Typing is not stored: first a message both see (bob's node has caught up).
        await ctx.sentinel(room, alice, [bob])
        const typing = bob.next('typing', (f) => f.username === aliceName && f.active === true)
        alice.send({ action: 'typing', room })
        await typing
        for (let i = 0; i < 5; i++) {
          alice.send({ action: 'message', room, content: `x-a${i}` })
          bob.send({ action: 'message', room, content: `x-b${i}` })
        }
        const mine = (f: Frame) => f.room === room && String(f.content).startsWith('x-')
        const order = async (c: typeof alice) => {
          const out: string[] = []
          while (out.length < 10) out.push(String((await c.next('message', mine)).id))
          return out
        }
        const [atA, atB] = await Promise.all([order(alice), order(bob)])
        equal(atB, atA, 'the order on node 2 against node 1')
        const history = await ctx.http(`/rooms/${room}/messages?limit=10`, {}, 1)
        equal(
          (history.body.messages as Frame[]).map((m) => m.id),
          atA,
          'the history on node 2',
        )
        const gone = alice.next('user_left', (f) => f.room === room && f.username === bobName)
        await bob.expect({ action: 'leave', room }, 'left')
        await gone
      },
    },
    {
      name: 'a member dropped on one node shows offline on the other, and resumes there with the missed messages',
      async run(ctx) {
        ctx.requireCluster()
        const { id, mod, alice, aliceName } = await pairToDrop(ctx, 1, 0)
        ctx.resumeGrace(alice)
        const [seen] = await post(mod, id, ['cluster before'])
        await alice.next('message', (f) => f.id === seen?.id)
        await drop(alice, aliceName, id, mod)
        const missed = await post(mod, id, ['cluster missed 1', 'cluster missed 2'])
        const online = mod.next(
          'presence',
          (f) => f.username === aliceName && f.status === 'online',
        )
        const again = await ctx.connect(0)
        const { resumed, replayed } = await resume(
          again,
          alice.session,
          { [id]: String(seen?.id) },
          id,
          2,
        )
        like(resumed, { room: id, username: aliceName, recovered: true }, 'resumed on node 1')
        equal(
          replayed.map((f) => f.id),
          missed.map((m) => m.id),
          'the replayed messages',
        )
        await online
      },
    },
    {
      name: "a resume on one node closes the session's open connection on the other with 4001",
      async run(ctx) {
        ctx.requireCluster()
        const { id, alice, aliceName } = await pairToDrop(ctx, 1, 0)
        ctx.resumeGrace(alice)
        const again = await ctx.connect(0)
        like(
          await again.expect({ action: 'resume', session: alice.session }, 'resumed'),
          { room: id, username: aliceName },
          'resumed',
        )
        equal((await alice.closed).code, 4001, 'the close code on node 2')
      },
    },
    {
      name: 'a ban on one node takes the member out on the other and keeps them out there',
      async run(ctx) {
        ctx.requireCluster()
        const { client: mod, username: modName, room } = await ctx.moderator(0)
        const { client: bob, username: bobName } = await ctx.member(1, 'bob')
        const banned = bob.next('banned', (f) => f.room === room)
        await mod.expect({ action: 'ban', room, username: bobName }, 'moderated')
        like(await banned, { type: 'banned', room, by: modName }, 'banned on node 2')
        await bob.refused({ action: 'join', room, username: bobName }, 'not_authorized')
        await mod.expect({ action: 'unban', room, username: bobName }, 'moderated')
        await bob.join(room, bobName)
      },
    },
  ],
}

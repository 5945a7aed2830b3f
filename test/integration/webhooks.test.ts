import { afterEach, describe, expect, it } from 'bun:test'
import { Webhook } from 'standardwebhooks'
import { useServer } from '../support/harness.ts'
import { TEST_JWT_SECRET } from '../support/tokens.ts'
import { type ReceivedWebhook, WebhookReceiver } from '../support/webhook-receiver.ts'

// The server's events, POSTed to a receiver on loopback and verified with the reference
// Standard Webhooks library, on the memory engine and on Redis alike.

const SECRET = `whsec_${Buffer.from('a webhook secret of 32 bytes!!!!').toString('base64')}`
const { serve, connect, createRoom, http, signedIn } = useServer({
  authMode: 'optional',
  authJwtSecret: TEST_JWT_SECRET,
  webhookSecret: SECRET,
})

let receiver: WebhookReceiver | undefined
afterEach(async () => {
  await receiver?.stop()
  receiver = undefined
})

interface Event {
  type: string
  timestamp: string
  data: Record<string, unknown>
}

/** The receiver's requests verified and parsed, in arrival order. */
function verified(requests: readonly ReceivedWebhook[]): Event[] {
  const hook = new Webhook(SECRET)
  return requests.map((r) => hook.verify(r.body, r.headers) as Event)
}

/** Waits for `n` accepted events and returns every verified one. */
async function events(n: number): Promise<Event[]> {
  const r = receiver as WebhookReceiver
  await r.requests.nth(n, `${n} webhook requests`)
  return verified(r.requests.items)
}

describe('webhooks', () => {
  it('sends room, member and message events, signed so that standardwebhooks verifies them', async () => {
    receiver = new WebhookReceiver()
    serve({ webhookUrl: receiver.url })
    await createRoom({ name: 'Support' })
    const alice = await signedIn({ sub: 'u1', name: 'Alice' })
    await alice.join('support', 'x')
    const echo = alice.next('message')
    alice.send({ action: 'message', room: 'support', content: 'hello' })
    const message = await echo
    await alice.request({ action: 'leave', room: 'support' }, ['left'])
    // Up to four requests are in flight at once, so they may arrive in another order.
    const got = await events(4)
    const byType = new Map(got.map((e) => [e.type, e]))
    expect([...byType.keys()].sort()).toEqual([
      'member.joined',
      'member.left',
      'message.created',
      'room.created',
    ])
    expect(byType.get('room.created')?.data.room).toMatchObject({
      id: 'support',
      name: 'Support',
      is_private: false,
    })
    expect(byType.get('member.joined')?.data).toEqual({
      room: 'support',
      username: 'Alice',
      user_id: 'u1',
    })
    expect(byType.get('message.created')?.data).toEqual({
      room: 'support',
      message: {
        id: message.id,
        type: 'text',
        sender: 'Alice',
        content: 'hello',
        timestamp: message.ts,
        room_id: 'support',
        user_id: 'u1',
      },
    })
    expect(byType.get('member.left')?.data).toEqual({
      room: 'support',
      username: 'Alice',
      user_id: 'u1',
      reason: 'left',
    })
    for (const e of got) expect(Math.abs(Date.parse(e.timestamp) - Date.now())).toBeLessThan(60_000)
    // One event, one id; a changed body does not verify.
    const first = receiver.requests.items[0] as ReceivedWebhook
    expect(() => new Webhook(SECRET).verify(`${first.body} `, first.headers)).toThrow()
    expect(new Set(receiver.requests.items.map((r) => r.headers['webhook-id'])).size).toBe(4)
  })

  it('reports a closed connection without a resume grace as member.left, reason expired', async () => {
    receiver = new WebhookReceiver()
    serve({ webhookUrl: receiver.url, webhookEvents: ['member.left'], resumeGraceMs: 0 })
    await createRoom({ name: 'Desk' })
    const alice = await signedIn({ sub: 'u1', name: 'Alice' })
    const bob = await connect()
    await alice.join('desk', 'x')
    await bob.join('desk', 'bob')
    const left = bob.next('user_left')
    alice.close()
    expect(await left).toMatchObject({ room: 'desk', username: 'Alice', user_id: 'u1' })
    const [event] = await events(1)
    expect(event?.data).toEqual({
      room: 'desk',
      username: 'Alice',
      user_id: 'u1',
      reason: 'expired',
    })
  })

  it('reports a kick and a ban as member.kicked / member.banned, with the member leaving', async () => {
    receiver = new WebhookReceiver()
    serve({
      webhookUrl: receiver.url,
      webhookEvents: ['member.kicked', 'member.banned', 'member.left'],
    })
    const mod = await connect()
    const room = await createRoom({ name: 'Ops' })
    await mod.join('ops', 'mod', { token: room.moderator_token })
    const bob = await signedIn({ sub: 'u2', name: 'Bob' })
    await bob.join('ops', 'x')
    await mod.request({ action: 'kick', room: 'ops', username: 'Bob' }, ['moderated'])
    await mod.request({ action: 'ban', room: 'ops', username: 'ghost' }, ['moderated'])
    const got = await events(3)
    // In any order: up to four are in flight at once.
    const byType = got
      .map((e) => [e.type, e.data])
      .sort(([a], [b]) => String(a).localeCompare(String(b)))
    expect(byType).toEqual([
      ['member.banned', { room: 'ops', username: 'ghost', by: 'mod' }],
      ['member.kicked', { room: 'ops', username: 'Bob', user_id: 'u2', by: 'mod' }],
      ['member.left', { room: 'ops', username: 'Bob', user_id: 'u2', reason: 'kicked' }],
    ])
  })

  it('reports an edit as message.edited and a delete as message.deleted, with who deleted it', async () => {
    receiver = new WebhookReceiver()
    serve({ webhookUrl: receiver.url, webhookEvents: ['message.edited', 'message.deleted'] })
    const room = await createRoom({ name: 'Notes' })
    const mod = await connect()
    await mod.join('notes', 'mod', { token: room.moderator_token })
    const alice = await signedIn({ sub: 'u1', name: 'Alice' })
    await alice.join('notes', 'x')
    const echo = alice.next('message', (f) => f.content === 'helo')
    alice.send({ action: 'message', room: 'notes', content: 'helo' })
    const message = await echo
    // A change comes back to its sender as the room's frame, without a ref.
    const edited = alice.next('message_edited')
    alice.send({ action: 'edit', room: 'notes', id: message.id, content: 'hello' })
    const reacted = alice.next('reaction')
    alice.send({ action: 'react', room: 'notes', id: message.id, emoji: '👍', on: true })
    await reacted
    const deletedFrame = mod.next('message_deleted')
    mod.send({ action: 'delete', room: 'notes', id: message.id })
    const [edit, deleted] = [await edited, await deletedFrame]
    const got = await events(2)
    const byType = new Map(got.map((e) => [e.type, e.data]))
    expect([...byType.keys()].sort()).toEqual(['message.deleted', 'message.edited'])
    expect(byType.get('message.edited')).toEqual({
      room: 'notes',
      id: message.id,
      event_id: edit.event_id,
      username: 'Alice',
      user_id: 'u1',
      content: 'hello',
      edited_at: edit.edited_at,
    })
    expect(byType.get('message.deleted')).toEqual({
      room: 'notes',
      id: message.id,
      event_id: deleted.event_id,
      username: 'Alice',
      user_id: 'u1',
      by: 'mod',
    })
  })

  it('reports a room deleted through the server API as room.deleted with reason deleted', async () => {
    receiver = new WebhookReceiver()
    const apiKey = 'an-api-key-for-the-tests'
    serve({ webhookUrl: receiver.url, webhookEvents: ['room.deleted'], apiKey })
    await createRoom({ name: 'Brief' })
    const alice = await connect()
    await alice.join('brief', 'alice')
    const headers = { authorization: `Bearer ${apiKey}` }
    expect((await http('/api/rooms/brief', { method: 'DELETE', headers })).status).toBe(204)
    expect((await http('/api/rooms/brief', { method: 'DELETE', headers })).status).toBe(404)
    const got = await events(1)
    expect(got.map((e) => [e.type, e.data])).toEqual([
      ['room.deleted', { room: 'brief', reason: 'deleted' }],
    ])
  })
})

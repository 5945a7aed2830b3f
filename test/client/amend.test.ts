import { describe, expect, it } from 'bun:test'
import type { ChatClient } from '../../src/client/chat-client.ts'
import type { ChangeFrame, MessageFrame, SystemFrame } from '../../src/client/types.ts'
import { FakeClock } from '../support/fake-clock.ts'
import { useServer } from '../support/harness.ts'
import { chatClient, lastSocket, nextEvent, socketFactory } from './support.ts'

// The typed client's edits, deletes and reactions against a real server (issue 16).

const { serve } = useServer()

/** Backoff made predictable: with random() = 0.5 the first retry waits 50 ms. */
const FAST = { reconnect: { minDelayMs: 100, maxDelayMs: 1000 }, random: () => 0.5 }

/** Every message, note and change a consumer gets, as one line each, in order. */
function story(client: ChatClient): string[] {
  const lines: string[] = []
  const said = (f: MessageFrame | SystemFrame) =>
    lines.push(
      f.type === 'message' ? `${f.id} ${f.sender}: ${f.content}` : `${f.id} * ${f.content}`,
    )
  const changed = (f: ChangeFrame) =>
    lines.push(
      f.type === 'message_edited'
        ? `${f.event_id} edit ${f.id}: ${f.content}`
        : f.type === 'message_deleted'
          ? `${f.event_id} delete ${f.id} by ${f.by}`
          : `${f.event_id} ${f.username} ${f.on ? '+' : '-'}${f.emoji} ${f.id} (${f.count})`,
    )
  client.on('message', said)
  client.on('system', said)
  client.on('message_edited', changed)
  client.on('message_deleted', changed)
  client.on('reaction', changed)
  return lines
}

describe('ChatClient edits, deletes and reactions', () => {
  it('edit, react and delete resolve with the room’s frame; the others get typed events', async () => {
    const server = serve()
    await server.ready
    const alice = chatClient({ url: server.wsUrl })
    const bob = chatClient({ url: server.wsUrl })
    await alice.join('general', 'alice')
    await bob.join('general', 'bob')
    const sent = await alice.send('general', 'lunch?')

    const bobEdited = nextEvent(bob, 'message_edited')
    const edited = await alice.edit('general', sent.id, 'lunch at noon?')
    expect(edited).toMatchObject({
      type: 'message_edited',
      room: 'general',
      id: sent.id,
      content: 'lunch at noon?',
    })
    expect(await bobEdited).toEqual(edited)

    const aliceSaw = nextEvent(alice, 'reaction')
    const reacted = await bob.react('general', sent.id, '👍', true)
    expect(reacted).toMatchObject({ emoji: '👍', username: 'bob', on: true, count: 1 })
    expect(await aliceSaw).toEqual(reacted)
    // Alice's own reaction settles hers, not a frame of bob's for the same emoji.
    const [mine, bobs] = await Promise.all([
      alice.react('general', sent.id, '👍'),
      bob.react('general', sent.id, '👍', false),
    ])
    expect(mine).toMatchObject({ username: 'alice', on: true })
    expect(bobs).toMatchObject({ username: 'bob', on: false })

    const bobDeleted = nextEvent(bob, 'message_deleted')
    const deleted = await alice.delete('general', sent.id)
    expect(deleted).toMatchObject({ type: 'message_deleted', id: sent.id, by: 'alice' })
    expect(await bobDeleted).toEqual(deleted)
    expect(alice.rooms.get('general')?.lastId).toBe(deleted.event_id)
  })

  it('rejects with the server’s error: not yours, unknown, deleted, bad emoji', async () => {
    const server = serve()
    await server.ready
    const alice = chatClient({ url: server.wsUrl })
    const bob = chatClient({ url: server.wsUrl })
    await alice.join('general', 'alice')
    await bob.join('general', 'bob')
    const sent = await alice.send('general', 'mine')
    await expect(bob.edit('general', sent.id, 'yours now')).rejects.toMatchObject({
      code: 'not_authorized',
    })
    await expect(bob.delete('general', sent.id)).rejects.toMatchObject({ code: 'not_authorized' })
    await expect(alice.edit('general', '000000009999', 'x')).rejects.toMatchObject({
      code: 'message_not_found',
    })
    await expect(alice.react('general', sent.id, 'not an emoji')).rejects.toMatchObject({
      code: 'invalid_message',
    })
    await alice.delete('general', sent.id)
    await expect(alice.react('general', sent.id, '👍')).rejects.toMatchObject({
      code: 'message_not_found',
    })
    // A request refused by ref reaches the caller only, not the error event.
    const errors: unknown[] = []
    bob.on('error', (e) => errors.push(e))
    await expect(bob.delete('general', sent.id)).rejects.toMatchObject({
      code: 'message_not_found',
    })
    expect(errors).toEqual([])
  })

  it('resumes from the last change seen: what changed while away comes once, in order', async () => {
    const server = serve()
    await server.ready
    const clock = new FakeClock()
    const { WebSocket, sockets } = socketFactory()
    const alice = chatClient({ url: server.wsUrl, WebSocket, clock, ...FAST })
    const bob = chatClient({ url: server.wsUrl })
    await alice.join('general', 'alice')
    await bob.join('general', 'bob')
    const lines = story(alice)
    const first = await bob.send('general', 'first')
    const second = await bob.send('general', 'second')
    const reacted = nextEvent(alice, 'reaction')
    // The last thing alice sees is a change, newer than any message.
    const r = await bob.react('general', first.id, '🎉')
    await reacted
    expect(alice.rooms.get('general')?.lastId).toBe(r.event_id)

    const cut = async () => {
      const offline = nextEvent(bob, 'presence', (p) => p.status === 'offline')
      lastSocket(sockets).terminate()
      await offline
    }
    await cut()
    const edited = await bob.edit('general', first.id, 'first, edited')
    const third = await bob.send('general', 'third')
    const deleted = await bob.delete('general', second.id)
    const back = nextEvent(alice, 'reconnected')
    const got = nextEvent(alice, 'message_deleted')
    clock.advance(50)
    expect(await back).toEqual({ recovered: true, resumed: true })
    await got

    await cut()
    const fourth = await bob.send('general', 'fourth')
    const again = nextEvent(alice, 'reconnected')
    const latest = nextEvent(alice, 'message', (m) => m.id === fourth.id)
    clock.advance(100)
    expect(await again).toEqual({ recovered: true, resumed: true })
    await latest
    expect(lines).toEqual([
      `${first.id} bob: first`,
      `${second.id} bob: second`,
      `${r.event_id} bob +🎉 ${first.id} (1)`,
      `${edited.event_id} edit ${first.id}: first, edited`,
      `${third.id} bob: third`,
      `${deleted.event_id} delete ${second.id} by bob`,
      `${fourth.id} bob: fourth`,
    ])
  })

  it('joined again after the session expired: the joined history is the latest state, nothing twice', async () => {
    const server = serve({ resumeGraceMs: 0 })
    await server.ready
    const clock = new FakeClock()
    const { WebSocket, sockets } = socketFactory()
    const alice = chatClient({ url: server.wsUrl, WebSocket, clock, ...FAST })
    const bob = chatClient({ url: server.wsUrl })
    await alice.join('general', 'alice')
    await bob.join('general', 'bob')
    const lines = story(alice)
    const one = await bob.send('general', 'one')
    const two = await bob.send('general', 'two')
    const seen = nextEvent(alice, 'message_edited')
    // Alice's last id is a change's, past every message: not a sign of a restarted room.
    const e1 = await bob.edit('general', one.id, 'one, edited')
    await seen

    const gone = nextEvent(bob, 'user_left')
    lastSocket(sockets).terminate()
    await gone
    await bob.react('general', two.id, '👍')
    await bob.delete('general', one.id)
    const three = await bob.send('general', 'three')

    const joined = nextEvent(alice, 'joined')
    const back = nextEvent(alice, 'reconnected')
    clock.advance(50)
    const history = (await joined).history
    expect(await back).toEqual({ recovered: true, resumed: false })
    expect(history.find((m) => m.id === one.id)).toMatchObject({ deleted: true })
    expect(history.find((m) => m.id === one.id)?.content).toBeUndefined()
    expect(history.find((m) => m.id === two.id)).toMatchObject({
      content: 'two',
      reactions: { '👍': { count: 1, users: ['bob'] } },
    })
    const newest = history.at(-1)?.id
    expect(alice.rooms.get('general')?.lastId).toBe(newest)

    const after = nextEvent(alice, 'reaction')
    const r2 = await bob.react('general', three.id, '🎉')
    await after
    const leftNote = history.find((m) => m.content === 'alice left')
    const joinedNote = history.findLast((m) => m.content === 'alice joined')
    // Only what came after e1 reaches the events: the new messages and notes, then the change.
    expect(lines).toEqual([
      `${one.id} bob: one`,
      `${two.id} bob: two`,
      `${e1.event_id} edit ${one.id}: one, edited`,
      `${leftNote?.id} * alice left`,
      `${three.id} bob: three`,
      `${joinedNote?.id} * alice joined`,
      `${r2.event_id} bob +🎉 ${three.id} (1)`,
    ])
  })

  it('markRead moves the marker: the others get a typed read event; a resume carries the markers moved meanwhile', async () => {
    const server = serve()
    await server.ready
    const clock = new FakeClock()
    const { WebSocket, sockets } = socketFactory()
    const alice = chatClient({ url: server.wsUrl, WebSocket, clock, ...FAST })
    const bob = chatClient({ url: server.wsUrl })
    await alice.join('general', 'alice')
    await bob.join('general', 'bob')
    const one = await alice.send('general', 'one')
    const read = nextEvent(alice, 'read')
    bob.markRead('general', one.id)
    expect(await read).toEqual({ type: 'read', room: 'general', username: 'bob', id: one.id })

    const offline = nextEvent(bob, 'presence', (p) => p.status === 'offline')
    lastSocket(sockets).terminate()
    await offline
    const two = await bob.send('general', 'two')
    // Bob's own message is not unread for him; his marker moves past it (no frame to alice: away).
    bob.markRead('general', two.id)
    expect((await bob.join('general', 'bob')).read).toEqual({ bob: two.id })
    const resumed = nextEvent(alice, 'resumed')
    clock.advance(50)
    const back = await resumed
    expect(back.read).toEqual({ bob: two.id })
    expect(back.unread).toBe(1)
  })
})

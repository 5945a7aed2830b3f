import { describe, expect, it } from 'bun:test'
import { useServer } from '../support/harness.ts'
import { TEST_JWT_SECRET } from '../support/tokens.ts'
import type { Frame, TestClient } from '../support/ws-client.ts'

// Edits, deletes and reactions (issue 16), on both engines: who may change a message, what
// the room gets, the latest state in every view of the history, and the changes a member
// missed replayed on resume in the room's order, once.

const { serve, connect, member, http, postRoom, signedIn } = useServer({
  historyLimit: 50,
  rateLimitPerSec: 1000,
  rateLimitBurst: 1000,
  authMode: 'optional',
  authJwtSecret: TEST_JWT_SECRET,
})

/** Sends a message and returns it as the sender saw it come back (with its id). */
async function say(c: TestClient, content: string, room = 'general'): Promise<Frame> {
  const echo = c.next('message', (f) => f.room === room && f.content === content)
  c.send({ action: 'message', room, content })
  return echo
}

let refs = 0

/**
 * Sends a change and returns what the sender got for it: the room's frame of it (the sender
 * gets it as every member does, without a ref), or the error that echoes the ref.
 */
async function change(c: TestClient, frame: Frame, type: string): Promise<Frame> {
  await c.sync() // what came before is not the answer
  const ref = `change-${++refs}`
  const sent: Frame = { room: 'general', ...frame, ref }
  const answer = c.next([type, 'error'], (f) =>
    f.type === 'error' ? f.ref === ref : f.room === sent.room && f.id === sent.id,
  )
  c.send(sent)
  return answer
}

async function restMessages(room = 'general'): Promise<Frame[]> {
  return ((await (await http(`/rooms/${room}/messages`)).json()) as Frame).messages
}

describe('edits', () => {
  it('the sender edits: every member gets message_edited; every view of the history shows the latest text', async () => {
    serve()
    const alice = await member('general', 'alice')
    const bob = await member('general', 'bob')
    const sent = await say(alice, 'helo')
    const seen = bob.next('message_edited')
    const edited = await change(
      alice,
      { action: 'edit', id: sent.id, content: 'hello' },
      'message_edited',
    )
    expect(edited).toMatchObject({
      type: 'message_edited',
      room: 'general',
      id: sent.id,
      content: 'hello',
    })
    expect(typeof edited.edited_at).toBe('number')
    expect(edited.event_id > sent.id).toBe(true)
    expect(await seen).toEqual(edited)
    const carol = await member('general', 'carol')
    const joined = carol.frames.find((f) => f.type === 'joined') as Frame
    const latest = { id: sent.id, content: 'hello', edited_at: edited.edited_at, sender: 'alice' }
    expect(joined.history.find((m: Frame) => m.id === sent.id)).toMatchObject(latest)
    // The change is no message: the views list messages only.
    expect(joined.history.map((m: Frame) => m.id)).not.toContain(edited.event_id)
    const page = await carol.request({ action: 'history', room: 'general' }, ['history'])
    expect(page.messages.find((m: Frame) => m.id === sent.id)).toMatchObject(latest)
    expect((await restMessages()).find((m) => m.id === sent.id)).toMatchObject(latest)
  })

  it('refuses anyone but the sender, an unknown id, a system note, a deleted message and bad content', async () => {
    serve()
    const alice = await member('general', 'alice')
    const bob = await member('general', 'bob')
    const sent = await say(alice, 'mine')
    expect(
      await change(bob, { action: 'edit', id: sent.id, content: 'yours' }, 'message_edited'),
    ).toMatchObject({ type: 'error', code: 'not_authorized', room: 'general' })
    for (const id of ['999999999', 'nope', '0', '']) {
      expect(
        await change(alice, { action: 'edit', id, content: 'x' }, 'message_edited'),
      ).toMatchObject({ type: 'error', code: 'message_not_found' })
    }
    const note = (await restMessages()).find((m) => m.type === 'system') as Frame
    expect(note.content).toBe('alice joined')
    expect(
      await change(alice, { action: 'edit', id: note.id, content: 'x' }, 'message_edited'),
    ).toMatchObject({ code: 'not_authorized' })
    expect(
      await change(alice, { action: 'edit', id: sent.id, content: '   ' }, 'message_edited'),
    ).toMatchObject({ code: 'invalid_message' })
    expect(
      await change(alice, { action: 'edit', id: sent.id, content: 7 }, 'message_edited'),
    ).toMatchObject({ code: 'invalid_message' })
    await change(alice, { action: 'delete', id: sent.id }, 'message_deleted')
    expect(
      await change(alice, { action: 'edit', id: sent.id, content: 'back' }, 'message_edited'),
    ).toMatchObject({ code: 'message_not_found' })
    // Nobody saw an edit.
    expect((await bob.sync()).filter((f) => f.type === 'message_edited')).toEqual([])
  })

  it('a resumed anonymous sender may still edit; another session with the same name may not', async () => {
    serve()
    const alice = await member('general', 'alice')
    const bob = await member('general', 'bob')
    const sent = await say(alice, 'before the drop')
    const offline = bob.next('presence', (f) => f.status === 'offline')
    alice.close()
    await offline
    const again = await connect()
    await again.request({ action: 'resume', session: alice.session }, ['resumed'])
    const edited = await change(
      again,
      { action: 'edit', id: sent.id, content: 'after the drop' },
      'message_edited',
    )
    expect(edited).toMatchObject({ type: 'message_edited', content: 'after the drop' })
    // Alice leaves; a newcomer who takes the name is not her.
    await again.request({ action: 'leave', room: 'general' }, ['left'])
    const other = await member('general', 'alice')
    expect(
      await change(other, { action: 'edit', id: sent.id, content: 'impostor' }, 'message_edited'),
    ).toMatchObject({ code: 'not_authorized' })
  })

  it('a signed-in sender edits from another device of theirs', async () => {
    serve()
    const phone = await signedIn({ sub: 'u1', name: 'Alice' })
    await phone.join('general', 'x')
    const sent = await say(phone, 'typed on the phone')
    const laptop = await signedIn({ sub: 'u1', name: 'Alice' })
    await laptop.join('general', 'x')
    const edited = await change(
      laptop,
      { action: 'edit', id: sent.id, content: 'fixed on the laptop' },
      'message_edited',
    )
    expect(edited).toMatchObject({ content: 'fixed on the laptop' })
    // An anonymous member named like her is not her.
    const anon = await member('general', 'alice2')
    expect(
      await change(anon, { action: 'edit', id: sent.id, content: 'no' }, 'message_edited'),
    ).toMatchObject({ code: 'not_authorized' })
  })
})

describe('deletes', () => {
  it('the sender deletes: message_deleted with by; the history keeps a tombstone without content', async () => {
    serve()
    const alice = await member('general', 'alice')
    const bob = await member('general', 'bob')
    const sent = await say(alice, 'oops')
    const seen = bob.next('message_deleted')
    const deleted = await change(alice, { action: 'delete', id: sent.id }, 'message_deleted')
    expect(deleted).toMatchObject({
      type: 'message_deleted',
      room: 'general',
      id: sent.id,
      by: 'alice',
    })
    expect(await seen).toEqual(deleted)
    const tomb = (await restMessages()).find((m) => m.id === sent.id) as Frame
    expect(tomb).toMatchObject({ id: sent.id, sender: 'alice', deleted: true, type: 'text' })
    expect(typeof tomb.timestamp).toBe('number')
    expect(tomb.content).toBeUndefined()
    const carol = await member('general', 'carol')
    const joined = carol.frames.find((f) => f.type === 'joined') as Frame
    expect(joined.history.find((m: Frame) => m.id === sent.id)).toEqual(tomb)
    // Deleting it again: it is gone.
    expect(await change(alice, { action: 'delete', id: sent.id }, 'message_deleted')).toMatchObject(
      { code: 'message_not_found' },
    )
  })

  it('a moderator deletes anyone’s message; anyone else is refused', async () => {
    serve()
    const res = await postRoom({ name: 'Mod Room' })
    const { moderator_token: token } = (await res.json()) as Frame
    const mod = await connect()
    await mod.join('mod-room', 'mod', { token })
    const alice = await member('mod-room', 'alice')
    const bob = await member('mod-room', 'bob')
    const sent = await say(alice, 'spam', 'mod-room')
    expect(
      await change(bob, { action: 'delete', room: 'mod-room', id: sent.id }, 'message_deleted'),
    ).toMatchObject({ type: 'error', code: 'not_authorized' })
    const deleted = await change(
      mod,
      { action: 'delete', room: 'mod-room', id: sent.id },
      'message_deleted',
    )
    expect(deleted).toMatchObject({ type: 'message_deleted', id: sent.id, by: 'mod' })
    await alice.next('message_deleted', (f) => f.id === sent.id)
  })
})

describe('reactions', () => {
  it('sets and clears a reaction: idempotent per user, counted, listed in the history', async () => {
    serve()
    const alice = await member('general', 'alice')
    const bob = await member('general', 'bob')
    const sent = await say(alice, 'lunch?')
    const react = (c: TestClient, emoji: string, on: boolean) =>
      change(c, { action: 'react', id: sent.id, emoji, on }, 'reaction')
    expect(await react(bob, '👍', true)).toMatchObject({
      type: 'reaction',
      room: 'general',
      id: sent.id,
      emoji: '👍',
      username: 'bob',
      on: true,
      count: 1,
    })
    // The same reaction again is still one.
    expect(await react(bob, '👍', true)).toMatchObject({ count: 1 })
    expect(await react(alice, '👍', true)).toMatchObject({ username: 'alice', count: 2 })
    expect(await react(alice, ':tada:', true)).toMatchObject({ emoji: ':tada:', count: 1 })
    const kept = (await restMessages()).find((m) => m.id === sent.id) as Frame
    expect(kept.reactions).toEqual({
      '👍': { count: 2, users: ['bob', 'alice'] },
      ':tada:': { count: 1, users: ['alice'] },
    })
    expect(await react(bob, '👍', false)).toMatchObject({ on: false, count: 1 })
    // Clearing what one never set changes nothing.
    expect(await react(bob, '👍', false)).toMatchObject({ count: 1 })
    expect(await react(alice, ':tada:', false)).toMatchObject({ count: 0 })
    const after = (await restMessages()).find((m) => m.id === sent.id) as Frame
    expect(after.reactions).toEqual({ '👍': { count: 1, users: ['alice'] } })
    await react(alice, '👍', false)
    expect(
      ((await restMessages()).find((m) => m.id === sent.id) as Frame).reactions,
    ).toBeUndefined()
  })

  it('takes one emoji or a :short_name:, else invalid_message; at most 20 different ones', async () => {
    serve()
    const alice = await member('general', 'alice')
    const sent = await say(alice, 'react to me')
    const react = (emoji: unknown) =>
      change(alice, { action: 'react', id: sent.id, emoji, on: true }, 'reaction')
    for (const emoji of ['👍👍', 'a', 'ok', '::', ':a b:', `:${'x'.repeat(33)}:`, '', 3]) {
      expect(await react(emoji)).toMatchObject({ type: 'error', code: 'invalid_message' })
    }
    expect(
      await change(alice, { action: 'react', id: sent.id, emoji: '👍' }, 'reaction'),
    ).toMatchObject({ code: 'invalid_message' })
    for (const emoji of ['👍🏽', '👨‍👩‍👧', '🇫🇷', '❤️']) {
      expect(await react(emoji)).toMatchObject({ type: 'reaction', emoji, count: 1 })
    }
    for (let i = 0; i < 16; i++) expect(await react(`:e${i}:`)).toMatchObject({ count: 1 })
    expect(await react(':one_too_many:')).toMatchObject({ type: 'error', code: 'reaction_limit' })
    // An existing one may still be added to.
    const bob = await member('general', 'bob')
    expect(
      await change(bob, { action: 'react', id: sent.id, emoji: '❤️', on: true }, 'reaction'),
    ).toMatchObject({ count: 2 })
  })

  it('stays after the reactor is banned (the count is what was reacted)', async () => {
    serve()
    const res = await postRoom({ name: 'Mod Room' })
    const { moderator_token: token } = (await res.json()) as Frame
    const mod = await connect()
    await mod.join('mod-room', 'mod', { token })
    const bob = await member('mod-room', 'bob')
    const sent = await say(mod, 'announcement', 'mod-room')
    await change(
      bob,
      { action: 'react', room: 'mod-room', id: sent.id, emoji: '👎', on: true },
      'reaction',
    )
    await mod.request({ action: 'ban', room: 'mod-room', username: 'bob' }, ['moderated'])
    const kept = (
      ((await (await http('/rooms/mod-room/messages')).json()) as Frame).messages as Frame[]
    ).find((m) => m.id === sent.id) as Frame
    expect(kept.reactions).toEqual({ '👎': { count: 1, users: ['bob'] } })
  })
})

describe('catching up', () => {
  it('an edit, a delete and a reaction made while away reach the member on resume, once, in order', async () => {
    serve()
    const alice = await member('general', 'alice')
    const bob = await member('general', 'bob')
    const first = await say(bob, 'first')
    const second = await say(bob, 'second')
    await alice.next('message', (f) => f.id === second.id)
    const offline = bob.next('presence', (f) => f.status === 'offline')
    alice.close()
    await offline
    const edited = await change(
      bob,
      { action: 'edit', id: first.id, content: 'first, edited' },
      'message_edited',
    )
    const third = await say(bob, 'third')
    const reacted = await change(
      bob,
      { action: 'react', id: third.id, emoji: '🎉', on: true },
      'reaction',
    )
    const deleted = await change(bob, { action: 'delete', id: second.id }, 'message_deleted')
    const again = await connect()
    again.send({ action: 'resume', session: alice.session, last_ids: { general: second.id } })
    await again.next('resumed')
    const last = await again.next('message_deleted')
    expect(last).toEqual(deleted)
    const replayed = again.frames.filter((f) =>
      ['message', 'message_edited', 'message_deleted', 'reaction'].includes(f.type),
    )
    expect(replayed.map((f) => f.type)).toEqual([
      'message_edited',
      'message',
      'reaction',
      'message_deleted',
    ])
    expect(replayed[0]).toEqual(edited)
    expect(replayed[1]).toMatchObject({ id: third.id, content: 'third' })
    expect(replayed[2]).toEqual(reacted)
    // Resumed from the last change seen: nothing is replayed twice.
    const offline2 = bob.next('presence', (f) => f.status === 'offline')
    again.close()
    await offline2
    const more = await say(bob, 'fourth')
    const once = await connect()
    once.send({
      action: 'resume',
      session: again.session,
      last_ids: { general: deleted.event_id },
    })
    await once.next('resumed')
    await once.next('message', (f) => f.id === more.id)
    expect(
      once.frames.filter((f) => ['message', 'message_edited', 'message_deleted'].includes(f.type)),
    ).toEqual([expect.objectContaining({ id: more.id })])
  })

  it('a joiner sees the latest state at once and no change frames of the past', async () => {
    serve()
    const alice = await member('general', 'alice')
    const a = await say(alice, 'a')
    await change(alice, { action: 'edit', id: a.id, content: 'a2' }, 'message_edited')
    await change(alice, { action: 'react', id: a.id, emoji: '👍', on: true }, 'reaction')
    const bob = await member('general', 'bob')
    const joined = bob.frames.find((f) => f.type === 'joined') as Frame
    expect(joined.history.find((m: Frame) => m.id === a.id)).toMatchObject({
      content: 'a2',
      reactions: { '👍': { count: 1, users: ['alice'] } },
    })
    expect(
      (await bob.sync()).filter((f) => ['message_edited', 'reaction'].includes(f.type)),
    ).toEqual([])
  })
})

import { describe, expect, it } from 'bun:test'
import { useServer } from '../support/harness.ts'
import type { Frame } from '../support/ws-client.ts'

// Replies (issue 16): a message may carry reply_to, the id of a kept message of the same
// room; on both engines.

const { serve, member, http, createRoom } = useServer({
  historyLimit: 5,
  rateLimitPerSec: 1000,
  rateLimitBurst: 1000,
})

describe('replies', () => {
  it('delivers and keeps reply_to, in the live frame, joined.history, history paging and REST', async () => {
    serve()
    const alice = await member('general', 'alice')
    const bob = await member('general', 'bob')
    const first = alice.next('message', (f) => f.content === 'lunch?')
    alice.send({ action: 'message', room: 'general', content: 'lunch?' })
    const asked = await first
    const seen = alice.next('message', (f) => f.content === 'yes')
    bob.send({ action: 'message', room: 'general', content: 'yes', reply_to: asked.id })
    expect(await seen).toMatchObject({ sender: 'bob', content: 'yes', reply_to: asked.id })
    const later = await member('general', 'carol')
    const joined = (await later.frames.find((f) => f.type === 'joined')) as Frame
    expect(joined.history.find((m: Frame) => m.content === 'yes')).toMatchObject({
      reply_to: asked.id,
    })
    const page = await later.request({ action: 'history', room: 'general' }, ['history'])
    expect(page.messages.find((m: Frame) => m.content === 'yes').reply_to).toBe(asked.id)
    const rest = (await (await http('/rooms/general/messages')).json()) as Frame
    expect(rest.messages.find((m: Frame) => m.content === 'yes').reply_to).toBe(asked.id)
    // A message that replies to nothing has no reply_to.
    expect(rest.messages.find((m: Frame) => m.content === 'lunch?').reply_to).toBeUndefined()
  })

  it('refuses a reply to an id that is no kept message of the room with message_not_found', async () => {
    serve()
    // Ids are per room: one kept in another room names nothing here.
    await createRoom({ name: 'Other' })
    const alice = await member('general', 'alice')
    await alice.join('other', 'alice')
    for (const content of ['one', 'two', 'three']) {
      const echo = alice.next('message', (f) => f.content === content)
      alice.send({ action: 'message', room: 'other', content })
      await echo
    }
    const ask = (reply_to: string) =>
      alice.request({ action: 'message', room: 'general', content: 'hi', reply_to }, ['message'])
    // 000000000004: kept in `other` (its third message), and no message of general's yet.
    for (const id of ['999999999999', 'nope', '0', '000000000004']) {
      expect(await ask(id)).toMatchObject({ type: 'error', code: 'message_not_found' })
    }
    // Fallen out of the kept history (HISTORY_LIMIT 5): refused as well.
    const firstSent = alice.next('message', (f) => f.content === 'm0')
    alice.send({ action: 'message', room: 'general', content: 'm0' })
    const old = await firstSent
    for (let i = 1; i <= 5; i++) {
      const echo = alice.next('message', (f) => f.content === `m${i}`)
      alice.send({ action: 'message', room: 'general', content: `m${i}` })
      await echo
    }
    expect(await ask(old.id)).toMatchObject({ code: 'message_not_found' })
  })
})

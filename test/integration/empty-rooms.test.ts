/**
 * The empty-room rule (src/chat/empty-rooms.ts) on both engines: a room that has had no
 * member for ROOM_EMPTY_TTL_MS goes, once, reported as `room.deleted` with reason `empty`;
 * the time counts from the last member's leave, and a default room never goes.
 */
import { describe, expect, it } from 'bun:test'
import { FakeClock } from '../support/fake-clock.ts'
import { useServer } from '../support/harness.ts'
import { WebhookReceiver } from '../support/webhook-receiver.ts'

const { serve, member, http, postRoom } = useServer()
const SECRET = `whsec_${Buffer.from('a webhook secret of 32 bytes!!!!').toString('base64')}`
const TTL = 60_000

/**
 * Moves the clock on a second at a time until `event` comes, at most `steps` times: the
 * Redis engine's janitor looks at the deadlines on its own schedule (one pass at a time,
 * each a few round trips to Redis), so one jump of the clock may fall between two passes.
 * A round trip to the server between steps lets a pass finish. In memory the first step
 * fires the timer.
 */
async function tickUntil<T>(clock: FakeClock, event: Promise<T>, steps = 20): Promise<T> {
  let done = false
  const out = event.finally(() => {
    done = true
  })
  for (let i = 0; i < steps && !done; i++) {
    clock.advance(1000)
    await http('/health')
  }
  return out
}

describe('empty rooms', () => {
  it('deletes a room empty for ROOM_EMPTY_TTL_MS since its last member left, once, and never a default room', async () => {
    const receiver = new WebhookReceiver()
    try {
      const clock = new FakeClock(Date.now())
      serve(
        {
          resumeGraceMs: 0,
          roomEmptyTtlMs: TTL,
          unjoinedTimeoutMs: 3_600_000,
          webhookUrl: receiver.url,
          webhookSecret: SECRET,
          webhookEvents: ['room.deleted'],
        },
        { clock },
      )
      expect((await postRoom({ name: 'brief' })).status).toBe(201)
      expect((await postRoom({ name: 'later' })).status).toBe(201)
      // `later` is used for a while: its time starts again when its last member leaves.
      clock.advance(TTL / 2)
      const bob = await member('later', 'bob')
      clock.advance(TTL / 4)
      await bob.request({ action: 'leave', room: 'later' }, ['left'])
      clock.advance(TTL / 4 - 1000)
      /** The nth `room.deleted` webhook's body, the clock stepped on until it comes. */
      const deletion = async (n: number) =>
        JSON.parse((await tickUntil(clock, receiver.requests.nth(n, 'room.deleted', 10_000))).body)
      const first = await deletion(1)
      expect(first).toMatchObject({
        type: 'room.deleted',
        data: { room: 'brief', reason: 'empty' },
      })
      expect((await http('/rooms/brief')).status).toBe(404)
      // Still there: emptied a quarter of the TTL ago.
      const carol = await member('later', 'carol')
      expect(carol.frames.some((f) => f.type === 'joined' && f.room === 'later')).toBe(true)
      await carol.request({ action: 'leave', room: 'later' }, ['left'])
      clock.advance(TTL - 1000)
      await http('/health')
      expect(receiver.requests.items).toHaveLength(1)
      const second = await deletion(2)
      expect(second).toMatchObject({
        type: 'room.deleted',
        data: { room: 'later', reason: 'empty' },
      })
      expect((await http('/rooms/later')).status).toBe(404)
      // The default room was empty all along and stays; nothing was reported twice.
      clock.advance(TTL)
      expect((await http('/rooms/general')).status).toBe(200)
      await member('general', 'dave')
      expect(
        receiver.requests.items.map((r) => JSON.parse(r.body).data.room as string).sort(),
      ).toEqual(['brief', 'later'])
    } finally {
      await receiver.stop()
    }
  })
})

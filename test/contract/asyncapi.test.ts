/**
 * The AsyncAPI document as a contract: the server serves /asyncapi.json, `@asyncapi/parser`
 * validates it with no error, and a session replayed over a real socket, a good and a bad
 * frame for every action, gets only frames the document declares: each one its message's
 * payload schema accepts, each direct reply (by `ref`) one of its operation's reply messages,
 * and for the rules' limits the document states, a frame at the limit is taken and one past
 * it refused, as the document says.
 */
import { describe, expect, it } from 'bun:test'
import { join } from 'node:path'
import { Parser } from '@asyncapi/parser'
import { withAsyncApiSection } from '../../scripts/asyncapi-doc.ts'
import { ACTIONS } from '../../src/protocol/frames.ts'
import { useServer } from '../support/harness.ts'
import { schemaErrors } from '../support/json-schema.ts'
import { TEST_JWT_SECRET, testToken } from '../support/tokens.ts'
import type { Frame, TestClient } from '../support/ws-client.ts'

type Json = Record<string, unknown>

const API_KEY = 'k'.repeat(32)
const { serve, connect, http, member, signedIn } = useServer({
  authMode: 'optional',
  authJwtSecret: TEST_JWT_SECRET,
  apiKey: API_KEY,
})

async function served(): Promise<Json> {
  const res = await http('/asyncapi.json')
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toContain('application/json')
  return (await res.json()) as Json
}

describe('the AsyncAPI document', () => {
  it('is rendered in docs/protocol.md as generated (run bun run docs:asyncapi)', async () => {
    const text = await Bun.file(join(import.meta.dir, '../../docs/protocol.md')).text()
    expect(withAsyncApiSection(text)).toBe(text)
  })

  it('is served at /asyncapi.json and @asyncapi/parser finds no error in it', async () => {
    serve()
    const doc = await served()
    const parser = new Parser()
    const diagnostics = await parser.validate(JSON.stringify(doc))
    expect(diagnostics.filter((d) => d.severity === 0)).toEqual([])
    // The one warning: 3.1 exists (3.0 is chosen on purpose; see src/transport/asyncapi.ts).
    expect(diagnostics.map((d) => d.code)).toEqual(['asyncapi-latest-version'])
    // The parsed model a generator reads: one message per frame, each with its payload.
    const { document } = await parser.parse(JSON.stringify(doc))
    if (!document) throw new Error('the parser made no document')
    const receive = document.operations().filterByReceive()
    const actions = receive.map((op) => op.messages().all()[0]?.name()).sort()
    expect(actions).toEqual([...ACTIONS].sort())
    const join = receive.find((op) => op.id() === 'receiveJoin')
    expect(
      join
        ?.reply()
        ?.messages()
        .all()
        .map((m) => m.name()),
    ).toEqual(['joined', 'error'])
    const joined = document
      .messages()
      .all()
      .find((m) => m.id() === 'ServerJoined')
    expect(joined?.payload()?.required()).toContain('history')
  }, 30_000)
})

/** Every frame a client got, checked against the document; what it sent, by ref. */
class Replay {
  readonly sent = new Map<string, string>()
  private n = 0
  constructor(readonly doc: Json) {}

  private messages(): Json[] {
    return Object.values((this.doc.components as Json).messages as Json) as Json[]
  }

  /** The server frame message named `type`. */
  serverMessage(type: string): Json | undefined {
    return this.messages().find(
      (m) => m.name === type && String(m.title).endsWith('(server → client)'),
    )
  }

  /** The schema of the client frame of `action`, the document's limits included. */
  clientSchema(action: string): Json {
    const message = this.messages().find(
      (m) => m.name === action && String(m.title).endsWith('(client → server)'),
    )
    if (!message) throw new Error(`no message for the action ${action}`)
    return message.payload as Json
  }

  /**
   * Sends `frame` with a fresh ref; returns its direct reply, one of `replies` or an error.
   * With no `replies` (a message or typing is answered only when refused) it returns the
   * error with that ref that arrived before a sync, or undefined.
   */
  async request(client: TestClient, frame: Frame, replies: string[]): Promise<Frame | undefined> {
    const ref = `replay-${++this.n}`
    this.sent.set(ref, frame.action)
    if (replies.length > 0) return client.request({ ...frame, ref }, replies)
    client.send({ ...frame, ref })
    const before = await client.sync()
    return before.find((f) => f.type === 'error' && f.ref === ref)
  }

  /** The names of the messages the operation of `action` declares as its replies. */
  replies(action: string): string[] {
    const ops = this.doc.operations as Record<string, Json>
    const op = Object.values(ops).find(
      (o) =>
        o.action === 'receive' &&
        String(((o.messages as Json[])[0] as Json).$ref).endsWith(
          `/${String(this.clientSchema(action).$ref).split('/').pop()}`,
        ),
    )
    const refs = ((op?.reply as Json | undefined)?.messages as Json[] | undefined) ?? []
    return refs.map((r) => {
      const name = String(r.$ref).split('/').pop() as string
      return ((this.doc.components as Json).messages as Record<string, Json>)[name]?.name as string
    })
  }

  /** The fields of `value`, at any depth, that `schema` does not name. */
  undeclared(schema: Json, value: unknown, at = ''): string[] {
    let s = schema
    while (typeof s.$ref === 'string') {
      const name = s.$ref.split('/').pop() as string
      s = ((this.doc.components as Json).schemas as Record<string, Json>)[name] as Json
    }
    if (Array.isArray(value) && s.items) {
      return value.flatMap((v, i) => this.undeclared(s.items as Json, v, `${at}/${i}`))
    }
    if (typeof value !== 'object' || value === null || !s.properties) return []
    const properties = s.properties as Record<string, Json>
    return Object.entries(value).flatMap(([key, v]) =>
      properties[key] ? this.undeclared(properties[key], v, `${at}/${key}`) : [`${at}/${key}`],
    )
  }

  /** Checks every frame `client` got; returns their types. */
  check(client: TestClient): string[] {
    for (const frame of client.frames) {
      // The harness's own sync pings are not part of the replay.
      const where = JSON.stringify(frame).slice(0, 200)
      const message = this.serverMessage(frame.type)
      expect({ where, declared: message !== undefined }).toEqual({ where, declared: true })
      const errors = schemaErrors(message?.payload, frame, this.doc)
      expect({ where, errors }).toEqual({ where, errors: [] })
      // The schemas leave objects open (a client ignores fields it does not know), so that a
      // field the server sends and the document leaves out shows, it is looked for here.
      expect({ where, undeclared: this.undeclared(message?.payload as Json, frame) }).toEqual({
        where,
        undeclared: [],
      })
      const action = typeof frame.ref === 'string' ? this.sent.get(frame.ref) : undefined
      if (action !== undefined) {
        expect({ where, action, reply: this.replies(action).includes(frame.type) }).toEqual({
          where,
          action,
          reply: true,
        })
      }
    }
    return client.frames.map((f) => f.type)
  }
}

describe('a session replayed through the document', () => {
  it('gets only declared frames, each reply one its operation declares', async () => {
    serve({ resumeGraceMs: 60_000 })
    const replay = new Replay(await served())
    const outcomes = new Map<string, Set<'good' | 'bad'>>()
    const ask = async (client: TestClient, frame: Frame, replies: string[]) => {
      const reply = await replay.request(client, frame, replies)
      const seen = outcomes.get(frame.action) ?? new Set()
      seen.add(reply?.type === 'error' ? 'bad' : 'good')
      outcomes.set(frame.action, seen)
      return reply
    }

    const alice = await connect()
    await ask(alice, { action: 'ping' }, ['pong'])
    // A ref too long to echo: the error comes without it.
    const refused = alice.error((f) => f.ref === undefined)
    alice.send({ action: 'ping', ref: 'r'.repeat(65) })
    expect((await refused).code).toBe('invalid_message')
    outcomes.get('ping')?.add('bad')
    await ask(alice, { action: 'auth', token: 'not-a-jwt' }, ['authenticated'])
    await ask(alice, { action: 'auth', token: await testToken({ sub: 'u-1', name: 'alice' }) }, [
      'authenticated',
    ])
    await ask(alice, { action: 'join', room: 'general' }, ['joined'])
    await ask(alice, { action: 'join', room: 'nowhere' }, ['joined'])
    const bob = await member('general', 'bob')
    await ask(alice, { action: 'message', room: 'general', content: 'Hi!' }, [])
    await ask(alice, { action: 'message', room: 'general', content: 'Re', reply_to: '9' }, [])
    await ask(alice, { action: 'typing', room: 'general' }, [])
    await ask(alice, { action: 'typing' }, [])
    // Changes to a message, read markers and direct conversations (alice is signed in, bob not).
    const hi = alice.frames.find((f) => f.type === 'message' && f.content === 'Hi!') as Frame
    const general = { room: 'general', id: hi.id }
    await ask(alice, { action: 'edit', ...general, content: 'Hi all!' }, [])
    await ask(bob, { action: 'edit', ...general, content: 'not mine' }, [])
    await ask(bob, { action: 'react', ...general, emoji: '👍', on: true }, [])
    await ask(bob, { action: 'react', ...general, emoji: 'not one', on: true }, [])
    await ask(bob, { action: 'read', ...general }, [])
    await ask(bob, { action: 'read', room: 'general', id: 'x' }, [])
    await ask(alice, { action: 'delete', ...general }, [])
    await ask(alice, { action: 'delete', ...general }, [])
    await ask(alice, { action: 'directs' }, ['directs'])
    await ask(bob, { action: 'directs' }, ['directs'])
    await ask(alice, { action: 'direct', user_id: 'u-9' }, ['joined'])
    await ask(alice, { action: 'direct', user_id: '' }, ['joined'])
    await ask(alice, { action: 'history', room: 'general', limit: 5 }, ['history'])
    await ask(alice, { action: 'history', room: 'general', limit: 0 }, ['history'])
    const created = await ask(alice, { action: 'create', name: 'Mod Room' }, ['joined'])
    expect(created?.moderator_token).toBeString()
    await ask(alice, { action: 'create', name: 'Mod Room' }, ['joined'])
    await bob.join('mod-room', 'bob')
    for (const action of ['mute', 'unmute', 'kick'] as const) {
      await ask(alice, { action, room: 'mod-room', username: 'bob', duration_ms: 60_000 }, [
        'moderated',
      ])
    }
    await bob.join('mod-room', 'bob')
    await ask(alice, { action: 'ban', room: 'mod-room', username: 'bob' }, ['moderated'])
    await ask(alice, { action: 'unban', room: 'mod-room', username: 'bob' }, ['moderated'])
    for (const action of ['ban', 'kick', 'unban', 'mute', 'unmute'] as const) {
      await ask(bob, { action, room: 'general', username: 'alice', duration_ms: 1000 }, [
        'moderated',
      ])
    }
    await ask(alice, { action: 'leave', room: 'mod-room' }, ['left'])
    await ask(alice, { action: 'leave', room: 'mod-room' }, ['left'])

    // A dropped connection resumed on a new one; a resume with no session.
    const carol = await member('general', 'carol')
    const session = carol.session
    const offline = bob.next('presence', (f) => f.username === 'carol' && f.status === 'offline')
    carol.close()
    await offline
    const again = await connect()
    await ask(again, { action: 'resume', session, last_ids: { general: '000000000001' } }, [
      'resumed',
    ])
    await ask(again, { action: 'resume', session: 'spent' }, ['resumed'])

    // The room deleted through the server API: its members get room_deleted.
    const made = await http('/api/rooms', {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'doomed' }),
    })
    expect(made.status).toBe(201)
    const dave = await member('doomed', 'dave')
    const deleted = dave.next('room_deleted')
    const res = await http('/api/rooms/doomed', {
      method: 'DELETE',
      headers: { authorization: `Bearer ${API_KEY}` },
    })
    expect(res.status).toBe(204)
    await deleted

    // The rules' limits the document states: at the limit taken, past it refused, and the
    // document's schema says the same of both frames.
    const limits: [Frame, boolean][] = [
      [{ action: 'create', name: 'n'.repeat(32) }, true],
      [{ action: 'create', name: 'n'.repeat(33) }, false],
      [{ action: 'create', name: 'Big', max_users: 10_000 }, true],
      [{ action: 'create', name: 'Bigger', max_users: 10_001 }, false],
      [{ action: 'create', name: 'Signed', members: 'signed_in' }, true],
      [{ action: 'create', name: 'Everyone', members: 'everyone' }, false],
      [{ action: 'message', room: 'general', content: 'c'.repeat(4000) }, true],
      [{ action: 'message', room: 'general', content: 'c'.repeat(4001) }, false],
      [{ action: 'message', room: 'general', content: '' }, false],
    ]
    const erin = await signedIn({ sub: 'u-5', name: 'erin' })
    await erin.join('general', 'erin')
    for (const [frame, good] of limits) {
      const where = JSON.stringify(frame).slice(0, 80)
      const schema = replay.clientSchema(frame.action)
      expect({ where, document: schemaErrors(schema, frame, replay.doc).length === 0 }).toEqual({
        where,
        document: good,
      })
      const reply = await replay.request(erin, frame, frame.action === 'create' ? ['joined'] : [])
      expect({ where, taken: reply?.type !== 'error' }).toEqual({ where, taken: good })
      if (!good) expect({ where, code: reply?.code }).toEqual({ where, code: 'invalid_message' })
    }

    for (const client of [alice, bob, again, dave, erin]) await client.sync()
    const seen = new Set([alice, bob, carol, again, dave, erin].flatMap((c) => replay.check(c)))
    // Every action was answered, once well and once badly.
    for (const action of ACTIONS) {
      expect({ action, outcomes: [...(outcomes.get(action) ?? [])].sort() }).toEqual({
        action,
        outcomes: ['bad', 'good'],
      })
    }
    // The frames this session cannot bring about here: presence_diff (200 members),
    // shutdown (the server stopping), left with access_revoked and the direct notice (a
    // second signed-in user's first message) are the integration tests'; every other type
    // was seen and checked.
    const expected = [
      'authenticated',
      'banned',
      'directs',
      'error',
      'history',
      'joined',
      'kicked',
      'left',
      'message',
      'message_deleted',
      'message_edited',
      'moderated',
      'pong',
      'presence',
      'reaction',
      'read',
      'resumed',
      'room_deleted',
      'system',
      'typing',
      'user_joined',
      'user_left',
      'welcome',
    ]
    expect([...seen].sort()).toEqual(expected)
  }, 30_000)
})

/**
 * What every check gets: the servers under test (one or more nodes), connections that are
 * closed after the check, REST, unique names, fixtures shared by the checks of a run, and
 * the options that unlock the checks needing them.
 */
import { SignJWT } from 'jose'
import { assert, Failure, Skip } from './assert.ts'
import { Client, type Frame } from './client.ts'
import { type Reply, request } from './http.ts'

export interface Options {
  /** WebSocket URLs, one per node (`ws://host:port/ws`). */
  urls: string[]
  /** HTTP base URLs, one per node, in the same order. */
  https: string[]
  /** HS256 secret of the server's AUTH_JWT_SECRET, to mint tokens. */
  jwtSecret?: string
  /** The server's settings, when the operator tells them (else those checks skip). */
  maxPayloadBytes?: number
  maxContentChars?: number
  rateLimitBurst?: number
  /** Bound of one wait for a frame or an HTTP reply. */
  waitMs: number
}

export class Context {
  /** Unique per run, so runs against a long-lived server do not collide. */
  readonly runId = Math.random().toString(36).slice(2, 8)
  private counter = 0
  private clients: Client[] = []
  private fixtures = new Map<string, Promise<unknown>>()

  constructor(readonly options: Options) {}

  get nodes(): number {
    return this.options.urls.length
  }

  /** A unique name of at most 32 characters (`kind` at most 16). */
  name(kind: string): string {
    this.counter += 1
    return `${kind}-${this.runId}-${this.counter}`
  }

  /** Opens a connection to node `node` (default the first); closed after the check. */
  async connect(node = 0): Promise<Client> {
    const url = this.options.urls[node]
    assert(url, `no node ${node}`)
    const client = await Client.connect(url, this.options.waitMs)
    this.clients.push(client)
    return client
  }

  /** A REST request to node `node`. */
  http(path: string, init: RequestInit = {}, node = 0): Promise<Reply> {
    const base = this.options.https[node]
    assert(base, `no HTTP base URL for node ${node}`)
    return request(base, path, init, this.options.waitMs)
  }

  /** Creates a public room over WS with a fresh moderator connection; returns both. */
  async room(
    extra: Frame = {},
    node = 0,
  ): Promise<{ id: string; name: string; mod: Client; modName: string; joined: Frame }> {
    const mod = await this.connect(node)
    const name = this.name('room')
    const modName = this.name('mod')
    const joined = await mod.request({ action: 'create', name, username: modName, ...extra }, [
      'joined',
    ])
    if (joined.type === 'error') {
      const hint =
        joined.code === 'rate_limited' ? ' (ROOM_CREATE_PER_MIN: wait a minute between runs)' : ''
      throw new Failure(`create was refused: ${joined.code}: ${joined.message}${hint}`)
    }
    return { id: String(joined.room), name, mod, modName, joined }
  }

  /**
   * A public room shared by the checks that need only some room to be in, made once per run
   * over REST (rooms are few: ROOM_CREATE_PER_MIN allows 30 a minute by default).
   */
  shared(): Promise<string> {
    return this.sharedRoom().then((r) => r.id)
  }

  private sharedRoom(): Promise<{ id: string; token: string }> {
    return this.fixture('shared-room', async () => {
      const name = this.name('shared')
      const reply = await this.http('/rooms', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name }),
      })
      assert(
        reply.status === 201,
        `POST /rooms answered ${reply.status}: ${reply.text.slice(0, 200)}`,
      )
      return { id: String(reply.body.id), token: String(reply.body.moderator_token) }
    })
  }

  /** A fresh connection that has joined the shared room under a fresh name. */
  async member(
    node = 0,
    kind = 'user',
  ): Promise<{ client: Client; username: string; room: string }> {
    const room = await this.shared()
    const client = await this.connect(node)
    const username = this.name(kind)
    await client.join(room, username)
    return { client, username, room }
  }

  /** A fresh connection that has joined the shared room as a moderator (with its token). */
  async moderator(node = 0): Promise<{ client: Client; username: string; room: string }> {
    const { id, token } = await this.sharedRoom()
    const client = await this.connect(node)
    const username = this.name('mod')
    const joined = await client.join(id, username, { token })
    assert(
      joined.moderator === true,
      `joining with the moderator token gave moderator: ${joined.moderator}`,
    )
    return { client, username, room: id }
  }

  /** Made once per run, on first use. */
  fixture<T>(key: string, make: () => Promise<T>): Promise<T> {
    let made = this.fixtures.get(key) as Promise<T> | undefined
    if (!made) {
      made = make()
      this.fixtures.set(key, made)
      made.catch(() => this.fixtures.delete(key))
    }
    return made
  }

  /**
   * The sentinel: `poster` (a member) posts a message; each listener waits for it and gets
   * the frames of `room` that came before it. Message order is the room's order on every
   * node, so whatever the server sent the room before the sentinel is in those lists.
   */
  async sentinel(room: string, poster: Client, listeners: Client[]): Promise<Frame[][]> {
    const content = this.name('sentinel')
    const arrivals = listeners.map((l) =>
      l.until('message', (f) => f.room === room && f.content === content),
    )
    poster.send({ action: 'message', room, content })
    const got = await Promise.all(arrivals)
    return got.map((g) => g.before.filter((f) => f.room === room))
  }

  /** The server's resume grace from a welcome frame; skips when there is none. */
  resumeGrace(client: Client): number {
    const ms = Number(client.welcome.resume_within_ms)
    if (!(ms > 0))
      throw new Skip(
        `welcome.resume_within_ms is ${client.welcome.resume_within_ms}: the server keeps no session to resume`,
      )
    return ms
  }

  requireCluster(): void {
    if (this.nodes < 2) throw new Skip('needs two nodes (give --url twice)')
  }

  /** A HS256 token signed with --jwt-secret; skips without it. */
  async token(
    claims: Record<string, unknown>,
    ttlS = 3600,
    secret = this.options.jwtSecret,
  ): Promise<string> {
    if (!secret) throw new Skip("needs --jwt-secret (the server's AUTH_JWT_SECRET) to mint tokens")
    const now = Math.floor(Date.now() / 1000)
    const jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt(now)
      .setExpirationTime(now + ttlS)
    if (typeof claims.sub === 'string') jwt.setSubject(claims.sub)
    return jwt.sign(new TextEncoder().encode(secret))
  }

  /** The server's AUTH_MODE, from GET /auth. */
  authMode(): Promise<string> {
    return this.fixture('auth-mode', async () => {
      const reply = await this.http('/auth')
      assert(reply.status === 200, `GET /auth answered ${reply.status}`)
      return String(reply.body?.mode)
    })
  }

  /** Closes the check's connections and returns the protocol violations they saw. */
  endCheck(): string[] {
    const violations = this.clients.flatMap((c) => c.violations.map((v) => `${c.url}: ${v}`))
    for (const c of this.clients) c.close()
    this.clients = []
    return violations
  }
}

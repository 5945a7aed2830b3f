import type { Server } from 'bun'

/** How long a test waits for something before failing, in real ms (bunfig's limit is 4 s). */
const WAIT_MS = 1500

/**
 * Items that arrive over time (requests, reports), and promises of the nth one. Every wait
 * is bounded: a missing item fails the test with what was awaited, instead of hanging it.
 */
export class Inbox<T> {
  readonly items: T[] = []
  private waiters: { n: number; resolve: (item: T) => void }[] = []

  push(item: T): void {
    this.items.push(item)
    const n = this.items.length
    const due = this.waiters.filter((w) => w.n === n)
    this.waiters = this.waiters.filter((w) => w.n !== n)
    for (const w of due) w.resolve(item)
  }

  /** The nth item (1-based): at once if it is there, else when it arrives, else fails. */
  nth(n: number, what: string, timeoutMs = WAIT_MS): Promise<T> {
    const have = this.items[n - 1]
    if (have !== undefined) return Promise.resolve(have)
    return within(new Promise<T>((resolve) => this.waiters.push({ n, resolve })), what, timeoutMs)
  }
}

/** `promise`, or a rejection naming `what` after `timeoutMs` real ms. */
export async function within<T>(promise: Promise<T>, what: string, timeoutMs = WAIT_MS) {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)),
      timeoutMs,
    )
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** One answer: a status (with headers), or `hang`: no answer until the receiver stops. */
export type Reply = number | { status: number; headers?: Record<string, string> } | 'hang'

/** A request as the receiver got it, body unparsed: signatures cover the exact bytes. */
export interface ReceivedWebhook {
  readonly path: string
  readonly method: string
  readonly headers: Record<string, string>
  readonly body: string
  /** The status it was answered with; undefined while it hangs. */
  readonly status: number | undefined
}

/**
 * A webhook endpoint on 127.0.0.1 for tests. The nth request gets `script[n - 1]`, and
 * every request after the script `fallback`. Stop it in `afterEach`.
 */
export class WebhookReceiver {
  readonly requests = new Inbox<ReceivedWebhook>()
  private readonly server: Server<undefined>
  // Answers held back by `hang`, released on stop so the server can close.
  private readonly held: (() => void)[] = []
  private stopped = false
  private seen = 0

  constructor(
    private readonly script: readonly Reply[] = [],
    private readonly fallback: Reply = 204,
  ) {
    this.server = Bun.serve({
      hostname: '127.0.0.1',
      port: 0,
      fetch: (req) => this.answer(req),
    })
  }

  /** The URL to give the sender. */
  get url(): string {
    return `http://127.0.0.1:${this.server.port}/hooks`
  }

  /** Requests answered with a 2xx so far. */
  accepted(): number {
    return this.requests.items.filter((r) => r.status !== undefined && r.status < 300).length
  }

  /** Closes the server; a second call does nothing. */
  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    for (const release of this.held.splice(0)) release()
    await this.server.stop(true)
  }

  private async answer(req: Request): Promise<Response> {
    // Counted before the body is read, so that requests in parallel get their own replies.
    const reply = this.script[this.seen++] ?? this.fallback
    const body = await req.text()
    const status = reply === 'hang' ? undefined : typeof reply === 'number' ? reply : reply.status
    this.requests.push({
      path: new URL(req.url).pathname,
      method: req.method,
      headers: Object.fromEntries(req.headers.entries()),
      body,
      status,
    })
    if (reply === 'hang') {
      return new Promise((resolve) => {
        this.held.push(() => resolve(new Response('late', { status: 503 })))
      })
    }
    const headers = typeof reply === 'number' ? {} : reply.headers
    return new Response(null, { status: status as number, headers })
  }
}

/**
 * HTTP answers that depend on the request itself rather than on a route: request lines and
 * headers over the limit (431) and a method a known path does not take (405 with `Allow`).
 * Both are rendered by the app's one `onError` as `{"error":{"code","message"}}`.
 */
import { ChatError } from '../protocol/errors.ts'

/**
 * Largest request line plus headers the server takes, in bytes: 16 KiB, Bun's own default.
 * Bun's parser answers a bare 431 (no body, before any JavaScript runs; measured on Bun 1.4.5)
 * past its `--max-http-header-size`, which `bun run start`, `bun run dev` and the executable
 * raise to {@link BUN_HEADER_LIMIT_BYTES}, so that requests between the two limits reach the
 * app and get the JSON body.
 */
export const MAX_HEADER_BYTES = 16 * 1024

/** Bun's `--max-http-header-size` in package.json's start, dev and build scripts. */
export const BUN_HEADER_LIMIT_BYTES = 64 * 1024

/** The request line and headers as sent, in bytes (near enough: `name: value\r\n` each). */
export function headerBytes(request: Request): number {
  const url = new URL(request.url)
  // "GET /path?query HTTP/1.1\r\n"
  let bytes = request.method.length + url.pathname.length + url.search.length + 12
  for (const [name, value] of request.headers) bytes += name.length + value.length + 4
  return bytes
}

/** Throws 431 `payload_too_large` when the request line and headers are over the limit. */
export function checkHeaderSize(request: Request): void {
  if (headerBytes(request) > MAX_HEADER_BYTES) {
    throw new ChatError(
      'payload_too_large',
      `The request line and headers are over ${MAX_HEADER_BYTES} bytes`,
      undefined,
      431,
    )
  }
}

interface RouteLike {
  method: string
  path: string
}

/**
 * For a path no route of that method matches: the methods other routes take on it, sorted
 * (HEAD with GET, as Bun answers HEAD for a GET route), or none when no route has that path.
 * Elysia's `:param` segments match any one segment; the WebSocket route counts as GET.
 */
export function allowedMethods(routes: readonly RouteLike[]): (path: string) => string[] {
  const patterns = new Map<string, { pattern: RegExp; methods: Set<string> }>()
  for (const route of routes) {
    const source = route.path
      .split('/')
      .map((part) => (part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('/')
    const entry = patterns.get(source) ?? { pattern: new RegExp(`^${source}$`), methods: new Set() }
    const method = route.method === 'WS' ? 'GET' : route.method.toUpperCase()
    entry.methods.add(method)
    if (method === 'GET') entry.methods.add('HEAD')
    patterns.set(source, entry)
  }
  return (path) => {
    const methods = new Set<string>()
    for (const { pattern, methods: these } of patterns.values()) {
      if (pattern.test(path)) for (const m of these) methods.add(m)
    }
    return [...methods].sort()
  }
}

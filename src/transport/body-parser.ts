/**
 * The body parser of the REST plugins (http.ts, api.ts): MAX_BODY_BYTES enforced while the body
 * is read, and JSON parsed without `__proto__` keys.
 */
import { ChatError } from '../protocol/errors.ts'

/**
 * JSON.parse that drops every `__proto__` key. The body schemas' integer coercion clones
 * the body with plain assignment, and `clone["__proto__"] = …` swaps the prototype: the
 * key's contents then read as real fields (`{"__proto__":{"is_private":true}}`).
 */
function parseJson(text: string): unknown {
  return JSON.parse(text, (key, value) => (key === '__proto__' ? undefined : value))
}

/**
 * The body as text, refused with `payload_too_large` as soon as it passes `max` bytes.
 * A body with a Content-Length over the limit never gets here (the app refuses it before
 * reading); this catches chunked bodies, which declare no length.
 */
async function readBody(request: Request, max: number): Promise<string> {
  if (!request.body) return ''
  const chunks: Uint8Array[] = []
  let size = 0
  for await (const chunk of request.body) {
    size += chunk.byteLength
    if (size > max)
      throw new ChatError('payload_too_large', `The request body is over ${max} bytes`)
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** The REST routes' body parser: MAX_BODY_BYTES enforced, JSON without `__proto__` keys. */
export function bodyParser(maxBodyBytes: number) {
  return async ({ request, contentType }: { request: Request; contentType: string }) => {
    // Refused before the body is read when its declared length is over the limit: Bun does
    // not buffer a body nobody reads. (Not an app-wide onRequest hook: that would turn off
    // Bun's static routes, the chat page's among them.)
    const declared = Number(request.headers.get('content-length') ?? 0)
    if (declared > maxBodyBytes) {
      throw new ChatError('payload_too_large', `The request body is over ${maxBodyBytes} bytes`)
    }
    // Every body is read through the counting reader, so a chunked one is cut off at the
    // limit too; a thrown error becomes PARSE, whose cause the app's onError renders.
    const text = await readBody(request, maxBodyBytes)
    if (contentType?.toLowerCase().startsWith('application/json')) return parseJson(text)
    return text
  }
}

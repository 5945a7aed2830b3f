/**
 * HTTP requests with a time bound, and the REST error envelope checked on every refusal:
 * `{"error":{"code","message"}}` with a catalog code.
 */

import { Failure } from './assert.ts'
import { isCatalogCode } from './catalog.ts'

export interface Reply {
  status: number
  headers: Headers
  text: string
  // biome-ignore lint/suspicious/noExplicitAny: bodies are arbitrary JSON from the server under test
  body: any
}

export async function request(
  base: string,
  path: string,
  init: RequestInit,
  timeoutMs: number,
): Promise<Reply> {
  const url = `${base.replace(/\/$/, '')}${path}`
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) }).catch(
    (e: Error) => {
      throw new Failure(`${init.method ?? 'GET'} ${url} failed: ${e.message}`)
    },
  )
  const text = await res.text()
  let body: unknown
  try {
    body = text === '' ? undefined : JSON.parse(text)
  } catch {
    body = undefined
  }
  if (res.status >= 400 && text !== '')
    checkErrorBody(`${init.method ?? 'GET'} ${path}`, res.status, body, text)
  return { status: res.status, headers: res.headers, text, body }
}

/** Fails unless `body` is the REST error envelope with a catalog code. */
export function checkErrorBody(what: string, status: number, body: unknown, text: string): void {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error
  if (!error || !isCatalogCode(error.code) || typeof error.message !== 'string') {
    throw new Failure(
      `${what} answered ${status} without {"error":{"code","message"}} and a catalog code: ${text.slice(0, 200)}`,
    )
  }
}

/** JSON body helper. */
export function json(
  method: string,
  body: unknown,
  headers: Record<string, string> = {},
): RequestInit {
  return {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  }
}

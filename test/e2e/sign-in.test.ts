/**
 * The chat page signing in with a token from a `#token=…` link (AUTH_MODE, docs/sign-in.md),
 * in headless Chromium against the in-process server, with tokens minted here.
 */
import { describe, expect, it } from 'bun:test'
import { SignJWT } from 'jose'
import type { Page } from 'playwright-core'
import { plainError } from '../../src/web/plain-errors.ts'
import { useServer } from '../support/harness.ts'
import { BROWSER_TEST_MS, newPerson, useBrowser } from './support/browser.ts'
import {
  alert,
  clickRoom,
  joinFromList,
  member,
  message,
  roomItem,
  say,
  username,
} from './support/chat.ts'

const SECRET = 'a-test-secret-of-at-least-32-bytes!!'
const NO_TOKEN = plainError('unauthenticated', '')

const chrome = useBrowser()
const { serve } = useServer({ authMode: 'required', authJwtSecret: SECRET })

/** A HS256 token for user `sub` named `name`, signed with `secret`, valid for `ttl`. */
function token(sub: string, name: string, secret = SECRET, ttl = '1h'): Promise<string> {
  return new SignJWT({ name })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(ttl)
    .sign(new TextEncoder().encode(secret))
}

const signedInAs = (page: Page, name: string) =>
  page.getByText(`Signed in as ${name}`, { exact: true })

/** A person whose page records every URL it requests, WebSockets included. */
async function recordedPerson(): Promise<{ page: Page; urls: string[] }> {
  const { page } = await newPerson(chrome.browser)
  const urls: string[] = []
  page.on('request', (r) => urls.push(r.url()))
  page.on('websocket', (ws) => urls.push(ws.url()))
  return { page, urls }
}

/**
 * Counts the WebSockets the page opens, in the page itself: the constructor runs before
 * whatever the page shows next, so a count read after that is final (no wait for an event
 * that may never come).
 */
async function countSockets(page: Page): Promise<() => Promise<number>> {
  // Runs in the page; globalThis is its window.
  await page.addInitScript(() => {
    // The browser's WebSocket, as far as it is used here (Bun's own type differs).
    type Socket = new (url: string | URL, protocols?: string | string[]) => object
    const win = globalThis as unknown as { socketsOpened: number; WebSocket: Socket }
    const Native = win.WebSocket
    win.socketsOpened = 0
    win.WebSocket = class extends Native {
      constructor(url: string | URL, protocols?: string | string[]) {
        super(url, protocols)
        win.socketsOpened++
      }
    }
  })
  return () =>
    page.evaluate(() => (globalThis as unknown as { socketsOpened: number }).socketsOpened)
}

describe('Chat page sign-in (AUTH_MODE=required)', () => {
  it(
    'signs in from a #token= link, takes the token out of the address bar and chats under its name',
    async () => {
      const server = serve()
      const jwt = await token('u-1', 'Alice')
      const alice = await recordedPerson()
      await alice.page.goto(`${server.httpUrl}/#token=${jwt}`)
      await signedInAs(alice.page, 'Alice').waitFor()
      await expect(username(alice.page).count()).resolves.toBe(0)
      expect(alice.page.url()).toBe(`${server.httpUrl}/`)

      await joinFromList(alice.page, 'general')
      await member(alice.page, 'Alice').filter({ hasText: 'online' }).waitFor()
      await say(alice.page, 'Hello, signed in')
      await expect(message(alice.page, 'Hello, signed in').textContent()).resolves.toContain(
        'Alice',
      )

      // Another user sees the message under the token's name.
      const bob = await recordedPerson()
      await bob.page.goto(`${server.httpUrl}/#token=${await token('u-2', 'Bob')}`)
      await signedInAs(bob.page, 'Bob').waitFor()
      await joinFromList(bob.page, 'general')
      await expect(message(bob.page, 'Hello, signed in').textContent()).resolves.toContain('Alice')

      // The tab keeps the token: a reload without the fragment is still signed in.
      await alice.page.reload()
      await signedInAs(alice.page, 'Alice').waitFor()
      expect(alice.page.url()).toBe(`${server.httpUrl}/`)

      // No request carried the token in its URL (a fragment is never sent, and the page
      // put the token in no URL of its own).
      expect(alice.urls.length).toBeGreaterThan(0)
      expect(alice.urls.filter((url) => url.includes(jwt))).toEqual([])
      // The WebSockets opened were the plain /ws: the token went in the `auth` frame.
      expect(new Set(alice.urls.filter((url) => url.startsWith('ws:')))).toEqual(
        new Set([server.wsUrl]),
      )
    },
    BROWSER_TEST_MS,
  )

  it(
    'still signs in with a link when GET /auth fails (taken as optional)',
    async () => {
      const server = serve()
      const { page } = await newPerson(chrome.browser)
      await page.route(`${server.httpUrl}/auth`, (route) => route.fulfill({ status: 500 }))
      await page.goto(`${server.httpUrl}/#token=${await token('u-1', 'Alice')}`)
      await signedInAs(page, 'Alice').waitFor()
      await joinFromList(page, 'general')
      await member(page, 'Alice').filter({ hasText: 'online' }).waitFor()
    },
    BROWSER_TEST_MS,
  )

  it(
    'says plainly that a sign-in link is needed without a token, and connects to nothing',
    async () => {
      const server = serve()
      const { page } = await newPerson(chrome.browser)
      const sockets = await countSockets(page)
      await page.goto(server.httpUrl)
      await alert(page).filter({ hasText: NO_TOKEN }).waitFor()
      await page.getByText('Not signed in', { exact: true }).waitFor()
      await expect(username(page).count()).resolves.toBe(0)

      // Joining asks for the sign-in again instead of connecting.
      await roomItem(page, 'general').waitFor()
      await clickRoom(page, 'general')
      await alert(page).filter({ hasText: NO_TOKEN }).waitFor()
      await expect(sockets()).resolves.toBe(0)
      await expect(page.getByRole('tab').count()).resolves.toBe(0)
    },
    BROWSER_TEST_MS,
  )

  it(
    'says plainly that a refused token was not accepted, and forgets it',
    async () => {
      const server = serve()
      const bad = await token('u-1', 'Alice', 'another-secret-of-at-least-32-bytes!')
      const { page } = await newPerson(chrome.browser)
      const sockets = await countSockets(page)
      await page.goto(`${server.httpUrl}/#token=${bad}`)
      await alert(page).filter({ hasText: 'Your sign-in was not accepted: ' }).waitFor()
      await page.getByText('Not signed in', { exact: true }).waitFor()
      // The one connection that tried the token (and that the count does see sockets).
      await expect(sockets()).resolves.toBe(1)
      await expect(page.evaluate(() => sessionStorage.getItem('chat.token'))).resolves.toBeNull()

      // Forgotten: after a reload there is no token at all.
      await page.reload()
      await alert(page).filter({ hasText: NO_TOKEN }).waitFor()
    },
    BROWSER_TEST_MS,
  )

  it(
    'says plainly when the sign-in expires, and forgets the token',
    async () => {
      // No skew allowed: the server ends the connection when the token's exp passes.
      const server = serve({ authClockToleranceS: 0 })
      const { page } = await newPerson(chrome.browser)
      await page.goto(`${server.httpUrl}/#token=${await token('u-1', 'Alice', SECRET, '3s')}`)
      await signedInAs(page, 'Alice').waitFor()
      await alert(page)
        .filter({ hasText: plainError('token_expired', '') })
        .waitFor()
      await page.getByText('Not signed in', { exact: true }).waitFor()
      await expect(page.evaluate(() => sessionStorage.getItem('chat.token'))).resolves.toBeNull()
    },
    BROWSER_TEST_MS,
  )
})

describe('Chat page sign-in (AUTH_MODE=optional)', () => {
  it(
    'keeps the Username box without a token, and signs in with one',
    async () => {
      const server = serve({ authMode: 'optional' })
      const anonymous = await newPerson(chrome.browser)
      await anonymous.page.goto(server.httpUrl)
      await username(anonymous.page).fill('carol')
      await joinFromList(anonymous.page, 'general')
      await member(anonymous.page, 'carol').waitFor()

      const alice = await newPerson(chrome.browser)
      await alice.page.goto(`${server.httpUrl}/#token=${await token('u-1', 'Alice')}`)
      await signedInAs(alice.page, 'Alice').waitFor()
      await expect(username(alice.page).count()).resolves.toBe(0)
      await joinFromList(alice.page, 'general')
      await say(alice.page, 'Hi carol')
      await expect(message(anonymous.page, 'Hi carol').textContent()).resolves.toContain('Alice')
    },
    BROWSER_TEST_MS,
  )
})

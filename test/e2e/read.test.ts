/**
 * The chat page's read markers (issue 16) in headless Chromium against the in-process
 * server: "Seen by" on your last message in a small room, and unread counts per room (on its
 * tab and in the Rooms list) that follow the markers, the reader's other tabs' included.
 */
import { describe, expect, it } from 'bun:test'
import type { Page } from 'playwright-core'
import { useServer } from '../support/harness.ts'
import { TEST_JWT_SECRET, testToken } from '../support/tokens.ts'
import { BROWSER_TEST_MS, newPerson, screenshot, useBrowser } from './support/browser.ts'
import { createRoom, joinFromList, message, open, roomItem, say } from './support/chat.ts'

const chrome = useBrowser()
const { serve, member: bot } = useServer({ authMode: 'optional', authJwtSecret: TEST_JWT_SECRET })

async function signedInPage(httpUrl: string, sub: string, name: string): Promise<Page> {
  const { page } = await newPerson(chrome.browser)
  await page.goto(`${httpUrl}/#token=${await testToken({ sub, name })}`)
  await page.getByText(`Signed in as ${name}`, { exact: true }).waitFor()
  return page
}

const tab = (page: Page, name: string) => page.getByRole('tab', { name, exact: true })

describe('Chat page: read markers', () => {
  it(
    'shows "Seen by" on your last message once the others have read it',
    async () => {
      const server = serve()
      const alice = (await newPerson(chrome.browser)).page
      await open(alice, server.httpUrl, 'alice')
      await joinFromList(alice, 'general')
      const carol = await bot('general', 'carol')
      await say(alice, 'first')
      await say(alice, 'Anyone around?')
      const bob = (await newPerson(chrome.browser)).page
      await open(bob, server.httpUrl, 'bob')
      // Bob opens the room: he has seen everything in it.
      await joinFromList(bob, 'general')
      await message(alice, 'Anyone around?').filter({ hasText: 'Seen by bob' }).waitFor()
      // Only the last message of yours says it.
      await expect(message(alice, 'first').filter({ hasText: 'Seen by' }).count()).resolves.toBe(0)
      const id = await message(alice, 'Anyone around?').getAttribute('data-id')
      carol.send({ action: 'read', room: 'general', id })
      await message(alice, 'Anyone around?').filter({ hasText: 'Seen by bob, carol' }).waitFor()
      await screenshot(alice, 'seen-by')

      // A newer message of yours starts unseen, and takes the line.
      await say(alice, 'Lunch?')
      await message(alice, 'Anyone around?').filter({ hasText: 'Seen by' }).waitFor({
        state: 'detached',
      })
      await message(alice, 'Lunch?').filter({ hasText: 'Seen by bob' }).waitFor()
    },
    BROWSER_TEST_MS,
  )

  it(
    'counts unread messages per room in the Rooms list, and clears them when read on another tab',
    async () => {
      const server = serve()
      // Alice on two tabs (one user, one marker), Bob talking in Side.
      const first = await signedInPage(server.httpUrl, 'u-1', 'Alice')
      const second = await signedInPage(server.httpUrl, 'u-1', 'Alice')
      await createRoom(first, 'Side')
      await joinFromList(first, 'general')
      await tab(first, 'general').waitFor()
      const bob = await signedInPage(server.httpUrl, 'u-2', 'Bob')
      await joinFromList(bob, 'Side')
      await say(bob, 'one')
      await say(bob, 'two')
      await roomItem(first, 'Side').filter({ hasText: '2 unread' }).waitFor()
      await tab(first, 'Side 2 unread').waitFor()
      await expect(roomItem(first, 'general').filter({ hasText: 'unread' }).count()).resolves.toBe(
        0,
      )

      // The second tab opens Side (it starts unread there too) and reads it: the first follows.
      await joinFromList(second, 'Side')
      await message(second, 'two').waitFor()
      await tab(first, 'Side').waitFor()
      await expect(roomItem(first, 'Side').filter({ hasText: 'unread' }).count()).resolves.toBe(0)

      // A new message is unread on the tab that shows another room, not on the one showing it.
      await say(bob, 'three')
      await tab(first, 'Side 1 unread').waitFor()
      await message(second, 'three').waitFor()
      await expect(roomItem(second, 'Side').filter({ hasText: 'unread' }).count()).resolves.toBe(0)
      await tab(first, 'Side').waitFor()
    },
    BROWSER_TEST_MS,
  )
})

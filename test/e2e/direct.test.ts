/**
 * The chat page's direct conversations (issue 16) in headless Chromium against the
 * in-process server: a button `Message <name>` beside each other signed-in member opens the
 * direct room, listed in the Rooms list; the other user's list gains it at the first message.
 */
import { describe, expect, it } from 'bun:test'
import type { Page } from 'playwright-core'
import { useServer } from '../support/harness.ts'
import { TEST_JWT_SECRET, testToken } from '../support/tokens.ts'
import { BROWSER_TEST_MS, newPerson, screenshot, useBrowser } from './support/browser.ts'
import {
  button,
  clickRoom,
  joinFromList,
  member,
  message,
  open,
  roomItem,
  say,
} from './support/chat.ts'

const chrome = useBrowser()
const { serve } = useServer({ authMode: 'optional', authJwtSecret: TEST_JWT_SECRET })

async function signedInPage(httpUrl: string, sub: string, name: string): Promise<Page> {
  const { page } = await newPerson(chrome.browser)
  await page.goto(`${httpUrl}/#token=${await testToken({ sub, name })}`)
  await page.getByText(`Signed in as ${name}`, { exact: true }).waitFor()
  return page
}

describe('Chat page: direct conversations', () => {
  it(
    'opens a direct room from the member list; the other user finds it in the Rooms list',
    async () => {
      const server = serve()
      const alice = await signedInPage(server.httpUrl, 'u-1', 'Alice')
      const bob = await signedInPage(server.httpUrl, 'u-2', 'Bob')
      await joinFromList(alice, 'general')
      await joinFromList(bob, 'general')
      // An anonymous member has no user id: nobody can message them directly.
      const carol = (await newPerson(chrome.browser)).page
      await open(carol, server.httpUrl, 'carol')
      await joinFromList(carol, 'general')
      await member(alice, 'carol').waitFor()
      await expect(button(alice, 'Message carol').count()).resolves.toBe(0)
      await expect(button(carol, 'Message Bob').count()).resolves.toBe(0)
      await expect(button(alice, 'Message Alice').count()).resolves.toBe(0)

      await button(alice, 'Message Bob').click()
      await alice.getByRole('tab', { name: 'Bob', exact: true }).waitFor()
      await roomItem(alice, 'Bob').filter({ hasText: 'direct' }).waitFor()
      await say(alice, 'Hi Bob, a word in private?')

      // Bob's Rooms list gains the conversation at its first message; it opens from there.
      await roomItem(bob, 'Alice').filter({ hasText: 'direct' }).waitFor()
      await clickRoom(bob, 'Alice')
      await bob.getByRole('tab', { name: 'Alice', exact: true }).waitFor()
      await message(bob, 'Hi Bob, a word in private?').waitFor()
      await say(bob, 'Sure')
      await message(alice, 'Sure').waitFor()
      // Carol, in general, saw none of it.
      await expect(message(carol, 'Hi Bob, a word in private?').count()).resolves.toBe(0)

      // Back in general, Message Bob shows the open conversation again.
      await alice.getByRole('tab', { name: 'general', exact: true }).click()
      await button(alice, 'Message Bob').click()
      await message(alice, 'Sure').waitFor()
      await expect(alice.getByRole('tab', { name: 'Bob', exact: true }).count()).resolves.toBe(1)
      await screenshot(alice, 'direct')
    },
    BROWSER_TEST_MS,
  )
})

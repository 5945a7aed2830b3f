/**
 * The chat page's edits, deletes, replies and reactions (issue 16) in headless Chromium
 * against the in-process server, found only by the accessible names of the page's contract:
 * `Edit message`, `Delete message`, `Reply`, `React`, a reaction's "<emoji> <count>".
 */
import { describe, expect, it } from 'bun:test'
import type { Page } from 'playwright-core'
import { useServer } from '../support/harness.ts'
import { BROWSER_TEST_MS, newPerson, screenshot, useBrowser } from './support/browser.ts'
import {
  button,
  hasFocus,
  joinFromList,
  message,
  messages,
  open,
  say,
  status,
  textbox,
} from './support/chat.ts'
import { TcpProxy } from './support/tcp-proxy.ts'

const chrome = useBrowser()
const { serve, member: bot } = useServer()

/** A button of the Messages item holding `content`. */
const control = (page: Page, content: string, name: string) =>
  message(page, content).getByRole('button', { name, exact: true })

async function twoInGeneral(httpUrl: string): Promise<{ alice: Page; bob: Page }> {
  const alice = (await newPerson(chrome.browser)).page
  const bob = (await newPerson(chrome.browser)).page
  await open(alice, httpUrl, 'alice')
  await joinFromList(alice, 'general')
  await open(bob, httpUrl, 'bob')
  await joinFromList(bob, 'general')
  return { alice, bob }
}

describe('Chat page: changes to messages', () => {
  it(
    'edits your own message (Enter saves, Escape cancels) and both pages show "(edited)"',
    async () => {
      const server = serve()
      const { alice, bob } = await twoInGeneral(server.httpUrl)
      const carol = await bot('general', 'carol')
      await say(alice, 'Lunch at 12?')
      await message(bob, 'Lunch at 12?').waitFor()
      // Only the sender has Edit message; bob, no moderator, has no Delete message either.
      await expect(control(bob, 'Lunch at 12?', 'Edit message').count()).resolves.toBe(0)
      await expect(control(bob, 'Lunch at 12?', 'Delete message').count()).resolves.toBe(0)

      // Escape leaves the text as it was.
      await control(alice, 'Lunch at 12?', 'Edit message').click()
      const box = textbox(alice, 'Edit message')
      await expect(box.inputValue()).resolves.toBe('Lunch at 12?')
      await box.fill('never mind')
      await box.press('Escape')
      await box.waitFor({ state: 'detached' })
      await message(alice, 'Lunch at 12?').waitFor()
      // Bob's read marker may still come and draw the item again ("Seen by bob").
      await expect(hasFocus(control(alice, 'Lunch at 12?', 'Edit message'))).resolves.toBe(true)

      const id = await message(alice, 'Lunch at 12?').getAttribute('data-id')
      await control(alice, 'Lunch at 12?', 'Edit message').click()
      await textbox(alice, 'Edit message').fill('Lunch at 1?')
      // Someone reacts while alice edits: her item is drawn again, and what she typed stays.
      carol.send({ action: 'react', room: 'general', id, emoji: '👍', on: true })
      await alice
        .locator(`li[data-id="${id}"]`)
        .getByRole('button', { name: '👍 1', exact: true })
        .waitFor()
      await expect(textbox(alice, 'Edit message').inputValue()).resolves.toBe('Lunch at 1?')
      await textbox(alice, 'Edit message').press('Enter')
      for (const page of [alice, bob]) {
        await message(page, 'Lunch at 1?').filter({ hasText: '(edited)' }).waitFor()
        await expect(message(page, 'Lunch at 12?').count()).resolves.toBe(0)
      }
      await screenshot(alice, 'edited')
    },
    BROWSER_TEST_MS,
  )

  it(
    'deletes your own message, and a moderator deletes anyone’s: "Message deleted" on every page',
    async () => {
      const server = serve()
      const mod = (await newPerson(chrome.browser)).page
      const bob = (await newPerson(chrome.browser)).page
      // The creator of a room is its moderator.
      await open(mod, server.httpUrl, 'mod')
      await button(mod, 'Create room').click()
      await textbox(mod, 'Room name').fill('Desk')
      await button(mod, 'Create').click()
      await messages(mod).waitFor()
      await open(bob, server.httpUrl, 'bob')
      await joinFromList(bob, 'Desk')

      await say(bob, 'first try')
      await say(bob, 'oops, wrong room')
      await message(mod, 'oops, wrong room').waitFor()
      // The moderator may delete bob's message (not edit it).
      await expect(control(mod, 'oops, wrong room', 'Edit message').count()).resolves.toBe(0)
      await control(mod, 'oops, wrong room', 'Delete message').click()
      for (const page of [mod, bob]) {
        await message(page, 'Message deleted').waitFor()
        await expect(message(page, 'oops, wrong room').count()).resolves.toBe(0)
      }
      // Bob deletes his own.
      await control(bob, 'first try', 'Delete message').click()
      await message(mod, 'first try').waitFor({ state: 'detached' })
      await expect(message(mod, 'Message deleted').count()).resolves.toBe(2)
    },
    BROWSER_TEST_MS,
  )

  it(
    'replies: the composer shows what you reply to (cancellable), the reply quotes the original',
    async () => {
      const server = serve()
      const { alice, bob } = await twoInGeneral(server.httpUrl)
      await say(alice, 'Who has the keys?')
      await say(alice, 'Anyone?')
      await message(bob, 'Who has the keys?').waitFor()

      // A reply started and cancelled sends a plain message.
      await control(bob, 'Anyone?', 'Reply').click()
      await bob.getByText('Replying to alice: Anyone?', { exact: true }).waitFor()
      await button(bob, 'Cancel reply').click()
      await bob.getByText('Replying to alice: Anyone?').waitFor({ state: 'detached' })

      await control(bob, 'Who has the keys?', 'Reply').click()
      await bob.getByText('Replying to alice: Who has the keys?', { exact: true }).waitFor()
      // The box has the focus: typing goes straight into the reply.
      await bob.keyboard.type('I do')
      await bob.keyboard.press('Enter')
      for (const page of [alice, bob]) {
        const reply = message(page, 'I do')
        await reply.getByRole('link', { name: '↪ alice: Who has the keys?' }).waitFor()
      }
      await bob.getByText('Replying to alice: Who has the keys?').waitFor({ state: 'detached' })
      // The quote follows the original's edits.
      await control(alice, 'Who has the keys?', 'Edit message').click()
      await textbox(alice, 'Edit message').fill('Who has the car keys?')
      await textbox(alice, 'Edit message').press('Enter')
      await message(bob, 'I do')
        .getByRole('link', { name: '↪ alice: Who has the car keys?' })
        .waitFor()
    },
    BROWSER_TEST_MS,
  )

  it(
    'reacts from the React picker; a reaction is a button "<emoji> <count>" that toggles yours',
    async () => {
      const server = serve()
      const { alice, bob } = await twoInGeneral(server.httpUrl)
      const carol = await bot('general', 'carol')
      await say(alice, 'Release is out')
      await message(bob, 'Release is out').waitFor()

      await control(bob, 'Release is out', 'React').click()
      await control(bob, 'Release is out', '🎉').click()
      for (const page of [alice, bob]) await control(page, 'Release is out', '🎉 1').waitFor()
      // Carol (a bot) reacts the same: the count is the room's.
      const id = await message(alice, 'Release is out').getAttribute('data-id')
      const reacted = carol.next('reaction', (f) => f.username === 'carol')
      carol.send({ action: 'react', room: 'general', id, emoji: '🎉', on: true })
      await reacted
      await control(alice, 'Release is out', '🎉 2').waitFor()
      await expect(
        control(bob, 'Release is out', '🎉 2').getAttribute('aria-pressed'),
      ).resolves.toBe('true')
      await expect(
        control(alice, 'Release is out', '🎉 2').getAttribute('aria-pressed'),
      ).resolves.toBe('false')

      // Pressing it adds yours, pressing again takes it back.
      await control(alice, 'Release is out', '🎉 2').click()
      await control(bob, 'Release is out', '🎉 3').waitFor()
      await control(alice, 'Release is out', '🎉 3').click()
      await control(bob, 'Release is out', '🎉 2').waitFor()
      await control(bob, 'Release is out', '🎉 2').click()
      await control(alice, 'Release is out', '🎉 1').waitFor()
      await screenshot(alice, 'reactions')
    },
    BROWSER_TEST_MS,
  )

  for (const [how, resumeGraceMs] of [
    ['resumed', 30_000],
    ['joined again after the session expired', 0],
  ] as const) {
    it(
      `shows after a dropped connection what changed meanwhile (${how})`,
      async () => {
        const server = serve({ resumeGraceMs })
        const proxy = await TcpProxy.start(server.port)
        try {
          const alice = (await newPerson(chrome.browser)).page
          await open(alice, proxy.url, 'alice')
          await joinFromList(alice, 'general')
          const carol = await bot('general', 'carol')
          const said: Record<string, string> = {}
          for (const text of ['to edit', 'to delete', 'to react to']) {
            const echo = carol.next('message', (f) => f.content === text)
            carol.send({ action: 'message', room: 'general', content: text })
            said[text] = (await echo).id
            await message(alice, text).waitFor()
          }
          proxy.refusing = true
          proxy.cut()
          await status(alice).filter({ hasText: 'Reconnecting…' }).waitFor()
          const change = async (frame: Record<string, unknown>, type: string) => {
            const done = carol.next(type, (f) => f.id === frame.id)
            carol.send({ room: 'general', ...frame })
            await done
          }
          await change(
            { action: 'edit', id: said['to edit'], content: 'edited away' },
            'message_edited',
          )
          await change({ action: 'delete', id: said['to delete'] }, 'message_deleted')
          await change(
            { action: 'react', id: said['to react to'], emoji: '👀', on: true },
            'reaction',
          )
          proxy.refusing = false
          await message(alice, 'edited away').filter({ hasText: '(edited)' }).waitFor({
            timeout: 20_000,
          })
          await message(alice, 'Message deleted').waitFor()
          await message(alice, 'to react to')
            .getByRole('button', { name: '👀 1', exact: true })
            .waitFor()
          await expect(message(alice, 'to edit').count()).resolves.toBe(0)
          await expect(message(alice, 'to delete').count()).resolves.toBe(0)
        } finally {
          await proxy.stop()
        }
      },
      BROWSER_TEST_MS,
    )
  }
})

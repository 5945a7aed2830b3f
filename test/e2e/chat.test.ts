/**
 * The chat page in headless Chromium against the in-process server: two people (two
 * browser contexts) chat, type, leave, meet a private room, a ban and a dropped network.
 * Controls are found only by the accessible names of the page's contract.
 */
import { describe, expect, it } from 'bun:test'
import { useServer } from '../support/harness.ts'
import { BROWSER_TEST_MS, newPerson, PHONE, screenshot, useBrowser } from './support/browser.ts'
import {
  alert,
  button,
  clickRoom,
  createRoom,
  joinByName,
  joinFromList,
  member,
  members,
  message,
  messages,
  open,
  password,
  roomItem,
  say,
  shownMessages,
  status,
  textbox,
} from './support/chat.ts'
import { TcpProxy } from './support/tcp-proxy.ts'

const chrome = useBrowser()
const { serve, member: bot } = useServer()

describe('Chat page', () => {
  it(
    'lets two people chat in a room, with counts, presence, history and unread marks',
    async () => {
      const server = serve()
      const requests: string[] = []
      const alice = await newPerson(chrome.browser)
      alice.page.on('request', (r) => requests.push(r.url()))
      alice.page.on('websocket', (ws) => requests.push(ws.url()))
      await open(alice.page, server.httpUrl, 'alice')
      await joinFromList(alice.page, 'general')
      await say(alice.page, 'Hello, anyone here?')

      // Bob comes later (at phone width) and sees what was said before him.
      const bob = await newPerson(chrome.browser, PHONE)
      await open(bob.page, server.httpUrl, 'bob')
      await joinFromList(bob.page, 'general')
      await message(bob.page, 'Hello, anyone here?').waitFor()
      await expect(message(bob.page, 'Hello, anyone here?').textContent()).resolves.toContain(
        'alice',
      )
      await say(bob.page, 'Hi alice!')
      await message(alice.page, 'Hi alice!').waitFor()

      // Each sees both members online, their own entry too; the list counts two users.
      for (const page of [alice.page, bob.page]) {
        for (const name of ['alice', 'bob']) {
          await member(page, name).filter({ hasText: 'online' }).waitFor()
        }
      }
      await roomItem(alice.page, 'general').filter({ hasText: '2 users' }).waitFor()
      await message(alice.page, 'bob joined').waitFor()

      // A second room: its messages count as unread while general is open.
      await createRoom(alice.page, 'Side')
      await alice.page.getByRole('tab', { name: 'general' }).click()
      await joinFromList(bob.page, 'Side')
      await say(bob.page, 'psst')
      await alice.page.getByRole('tab', { name: 'Side 1 unread' }).waitFor()
      await alice.page.getByRole('tab', { name: /^Side/ }).click()
      await message(alice.page, 'psst').waitFor()
      await alice.page.getByRole('tab', { name: 'Side', exact: true }).waitFor()

      await screenshot(alice.page, 'chat-desktop')
      await screenshot(bob.page, 'chat-phone')
      // Everything the page loaded came from this server.
      const origin = new URL(server.httpUrl).host
      expect(requests.filter((url) => new URL(url).host !== origin)).toEqual([])
      expect(requests.some((url) => url.startsWith('ws://'))).toBe(true)
    },
    BROWSER_TEST_MS,
  )

  it(
    'shows who is typing on the other page and clears it when they send',
    async () => {
      const server = serve()
      const alice = await newPerson(chrome.browser)
      const bob = await newPerson(chrome.browser)
      await open(alice.page, server.httpUrl, 'alice')
      await joinFromList(alice.page, 'general')
      await open(bob.page, server.httpUrl, 'bob')
      await joinFromList(bob.page, 'general')

      await say(alice.page, 'Morning! Is the release out?')
      await say(bob.page, 'Almost: the last test is running.')
      await textbox(bob.page, 'Message').fill('I am writing someth')
      await status(alice.page).filter({ hasText: 'bob is typing' }).waitFor()
      await screenshot(alice.page, 'typing')
      await textbox(bob.page, 'Message').press('Enter')
      await message(alice.page, 'I am writing someth').waitFor()
      await status(alice.page).getByText('bob is typing').waitFor({ state: 'detached' })
    },
    BROWSER_TEST_MS,
  )

  it(
    'shows a closed page offline, then gone once its grace is over',
    async () => {
      const server = serve({ resumeGraceMs: 2000 })
      const alice = await newPerson(chrome.browser)
      const bob = await newPerson(chrome.browser)
      await open(alice.page, server.httpUrl, 'alice')
      await joinFromList(alice.page, 'general')
      await open(bob.page, server.httpUrl, 'bob')
      await joinFromList(bob.page, 'general')
      await member(alice.page, 'bob').filter({ hasText: 'online' }).waitFor()

      await bob.context.close()
      await member(alice.page, 'bob').filter({ hasText: 'offline' }).waitFor()
      await member(alice.page, 'bob').waitFor({ state: 'detached' })
      await message(alice.page, 'bob left').waitFor()
      await member(alice.page, 'alice').filter({ hasText: 'online' }).waitFor()
    },
    BROWSER_TEST_MS,
  )

  it(
    'refuses a wrong password for a private room and admits the right one',
    async () => {
      const server = serve()
      const alice = await newPerson(chrome.browser)
      const bob = await newPerson(chrome.browser)
      await open(alice.page, server.httpUrl, 'alice')
      await createRoom(alice.page, 'Secret Plans', 'hunter2')
      await member(alice.page, 'alice').filter({ hasText: 'moderator' }).waitFor()

      await open(bob.page, server.httpUrl, 'bob')
      // Not listed: the way in is its name.
      await expect(roomItem(bob.page, 'Secret Plans').count()).resolves.toBe(0)
      await joinByName(bob.page, 'Secret Plans')
      await password(bob.page).fill('wrong')
      await button(bob.page, 'Join').click()
      await alert(bob.page).filter({ hasText: 'Wrong password' }).waitFor()
      await screenshot(bob.page, 'private-wrong-password')
      await password(bob.page).fill('hunter2')
      await button(bob.page, 'Join').click()
      await member(bob.page, 'bob').filter({ hasText: 'online' }).waitFor()
      // The refusal is gone with the next attempt (an empty alert region is not shown).
      await expect(alert(bob.page).count()).resolves.toBe(0)
      await member(alice.page, 'bob').waitFor()
    },
    BROWSER_TEST_MS,
  )

  it(
    'lets a moderator ban a member from the member list; the banned page says so',
    async () => {
      const server = serve()
      const alice = await newPerson(chrome.browser)
      const bob = await newPerson(chrome.browser)
      await open(alice.page, server.httpUrl, 'alice')
      await createRoom(alice.page, 'Mods Only')
      await open(bob.page, server.httpUrl, 'bob')
      await joinFromList(bob.page, 'Mods Only')
      await member(alice.page, 'bob').waitFor()
      // Bob is no moderator: no such buttons for him.
      await expect(button(bob.page, 'Ban alice').count()).resolves.toBe(0)

      await button(alice.page, 'Ban bob').click()
      await alert(bob.page).filter({ hasText: 'banned' }).waitFor()
      await expect(alert(bob.page).textContent()).resolves.toBe(
        'You were banned from “Mods Only” by alice.',
      )
      await screenshot(bob.page, 'banned')
      await member(alice.page, 'bob').waitFor({ state: 'detached' })
      await message(alice.page, 'bob was banned by alice').waitFor()

      // Trying again is refused, in plain words.
      await clickRoom(bob.page, 'Mods Only')
      await alert(bob.page).filter({ hasText: 'You are banned from “Mods Only”.' }).waitFor()
    },
    BROWSER_TEST_MS,
  )

  it(
    'carries on after a dropped connection under traffic: nothing lost, nothing twice',
    async () => {
      const server = serve()
      const proxy = await TcpProxy.start(server.port)
      try {
        const alice = await newPerson(chrome.browser)
        await open(alice.page, proxy.url, 'alice')
        await joinFromList(alice.page, 'general')
        const carol = await bot('general', 'carol')

        // Carol sends 30 numbered messages, 8 a second (under the rate limit), while the
        // test cuts Alice's connection and keeps it down until the page says so.
        const total = 30
        const sent = (async () => {
          for (let i = 1; i <= total; i++) {
            const echo = carol.next('message', (f) => f.content === `m${i}`)
            carol.send({ action: 'message', room: 'general', content: `m${i}` })
            await echo
            await Bun.sleep(125)
          }
        })()
        await message(alice.page, 'm3').waitFor()
        proxy.refusing = true
        proxy.cut()
        await status(alice.page).filter({ hasText: 'Reconnecting…' }).waitFor()
        await screenshot(alice.page, 'reconnecting')
        await message(alice.page, 'm3').waitFor()
        proxy.refusing = false
        await sent
        await message(alice.page, `m${total}`).waitFor({ timeout: 20_000 })
        await status(alice.page).getByText('Reconnecting…').waitFor({ state: 'detached' })

        const shown = (await shownMessages(alice.page)).map((text) => text.split('\n').at(-1))
        const numbered = shown.filter((text) => /^m\d+$/.test(text ?? ''))
        expect(numbered).toEqual(Array.from({ length: total }, (_, i) => `m${i + 1}`))
        // And the page can still talk.
        await say(alice.page, 'back again')
      } finally {
        await proxy.stop()
      }
    },
    BROWSER_TEST_MS + 20_000,
  )

  it(
    'shows a message written as HTML as plain text',
    async () => {
      const server = serve()
      const alice = await newPerson(chrome.browser)
      const bob = await newPerson(chrome.browser)
      const dialogs: string[] = []
      bob.page.on('dialog', (d) => {
        dialogs.push(d.message())
        void d.dismiss()
      })
      await open(alice.page, server.httpUrl, 'alice')
      await joinFromList(alice.page, 'general')
      await open(bob.page, server.httpUrl, 'bob')
      await joinFromList(bob.page, 'general')

      const attack = '<img src=x onerror=alert(1)><b>bold</b>'
      await say(alice.page, attack)
      await message(bob.page, attack).waitFor()
      await expect(messages(bob.page).locator('img, b').count()).resolves.toBe(0)
      expect(dialogs).toEqual([])
    },
    BROWSER_TEST_MS,
  )

  it(
    'says in plain words when a name is taken, and lists the members it knows',
    async () => {
      const server = serve()
      await bot('general', 'alice')
      const other = await newPerson(chrome.browser)
      await open(other.page, server.httpUrl, 'Alice')
      await clickRoom(other.page, 'general')
      await alert(other.page)
        .filter({ hasText: 'The name “Alice” is already taken in “general”.' })
        .waitFor()
      await expect(members(other.page).count()).resolves.toBe(0)
    },
    BROWSER_TEST_MS,
  )
})

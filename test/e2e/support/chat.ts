/**
 * The chat page as a person uses it, found only by the accessible names the README lists
 * as the page's contract: every helper here proves a name is there.
 */
import type { Locator, Page } from 'playwright-core'

export const username = (page: Page) => page.getByRole('textbox', { name: 'Username' })
export const roomList = (page: Page) => page.getByRole('list', { name: 'Rooms', exact: true })
export const messages = (page: Page) => page.getByRole('list', { name: 'Messages', exact: true })
export const members = (page: Page) => page.getByRole('list', { name: 'Members', exact: true })
export const status = (page: Page) => page.getByRole('status')
export const alert = (page: Page) => page.getByRole('alert')
export const button = (page: Page, name: string) => page.getByRole('button', { name, exact: true })
export const textbox = (page: Page, name: string) =>
  page.getByRole('textbox', { name, exact: true })
export const password = (page: Page) => page.getByLabel('Password', { exact: true })

/** The Rooms list's item for `room` (the button is named exactly by the room's name). */
export const roomItem = (page: Page, room: string) =>
  roomList(page)
    .getByRole('listitem')
    .filter({ has: page.getByRole('button', { name: room, exact: true }) })

/** The Members item for `name`. */
export const member = (page: Page, name: string): Locator =>
  members(page)
    .getByRole('listitem')
    .filter({ has: page.getByText(name, { exact: true }) })

/** The Messages item holding `content`. */
export const message = (page: Page, content: string): Locator =>
  messages(page)
    .getByRole('listitem')
    .filter({ has: page.getByText(content, { exact: true }) })

/**
 * Whether `locator`'s element has the focus, asked in one query. `locator.evaluate` finds
 * the element and runs on it in a second round trip: an item drawn again in between (a late
 * read marker or reaction; the page moves the focus to the new item's same control) would be
 * checked on its old, detached copy, which has no focus.
 */
export const hasFocus = async (locator: Locator): Promise<boolean> =>
  (await locator.and(locator.page().locator(':focus')).count()) === 1

/** Opens the page and types the username. */
export async function open(page: Page, url: string, name: string): Promise<void> {
  await page.goto(url)
  await username(page).fill(name)
}

/** Clicks a room's button in the Rooms list (which joins it). */
export const clickRoom = (page: Page, room: string): Promise<void> =>
  roomList(page).getByRole('button', { name: room, exact: true }).click()

/** Joins a public room by its button in the Rooms list. */
export async function joinFromList(page: Page, room: string): Promise<void> {
  await clickRoom(page, room)
  await members(page).waitFor()
}

/** Joins a room by typing its name. */
export async function joinByName(page: Page, room: string): Promise<void> {
  await textbox(page, 'Room').fill(room)
  await button(page, 'Join room').click()
}

/** Creates a room; with a password it is private. */
export async function createRoom(page: Page, name: string, secret?: string): Promise<void> {
  await button(page, 'Create room').click()
  await textbox(page, 'Room name').fill(name)
  if (secret !== undefined) {
    await page.getByRole('checkbox', { name: 'Private' }).check()
    await password(page).fill(secret)
  }
  await button(page, 'Create').click()
  await members(page).waitFor()
}

/** Types a message and presses Enter; waits until it is shown. */
export async function say(page: Page, content: string): Promise<void> {
  await textbox(page, 'Message').fill(content)
  await textbox(page, 'Message').press('Enter')
  await message(page, content).waitFor()
}

/** The text of every Messages item, in order. */
export const shownMessages = (page: Page): Promise<string[]> =>
  messages(page).getByRole('listitem').allInnerTexts()

/**
 * Headless Chromium for the browser tests: Debian's `chromium` driven by playwright-core
 * (no browser download). CHROMIUM_PATH overrides where it is.
 */
import { afterAll, afterEach, beforeAll, expect } from 'bun:test'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'

export const CHROMIUM_PATH = Bun.env.CHROMIUM_PATH || '/usr/bin/chromium'

/** Screenshots of the main views land here (git-ignored); CI may keep them. */
export const ARTIFACTS = join(import.meta.dir, '..', 'artifacts')

/** Nothing that talks to the outside: no updates, sync, field trials or QUIC probes. */
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-quic',
  '--disable-sync',
]

/** Per-test timeout for browser tests (bunfig's 4 s is for in-process tests). */
export const BROWSER_TEST_MS = 30_000

/** Script errors of the pages opened by `newPerson`, checked after each test. */
const pageErrors: string[] = []

/**
 * Launches one Chromium for the calling test file and closes it after. Playwright gives
 * each launch a fresh temporary profile (user-data-dir), removed on close. A test fails
 * if one of its pages had a script error.
 */
export function useBrowser(): { readonly browser: Browser } {
  let browser: Browser | undefined
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: FLAGS })
  }, BROWSER_TEST_MS)
  afterEach(async () => {
    // Each test's contexts close with it: the next test starts with no page open.
    for (const context of browser?.contexts() ?? []) await context.close()
    expect(pageErrors.splice(0)).toEqual([])
  })
  afterAll(async () => {
    await browser?.close()
  })
  return {
    get browser() {
      if (!browser) throw new Error(`Chromium did not start (CHROMIUM_PATH=${CHROMIUM_PATH})`)
      return browser
    },
  }
}

export const DESKTOP = { width: 1100, height: 800 }
export const PHONE = { width: 390, height: 844 }

/** A page in a context of its own (its own storage: another person). */
export async function newPerson(
  browser: Browser,
  viewport = DESKTOP,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport })
  // Fail a missing control well within the test's own timeout.
  context.setDefaultTimeout(10_000)
  const page = await context.newPage()
  page.on('pageerror', (error) => pageErrors.push(error.message))
  return { context, page }
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true })
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true })
}

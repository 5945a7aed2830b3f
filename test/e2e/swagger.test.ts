/**
 * The docs on a closed network: the Swagger UI at /swagger and the protocol reference
 * load everything from this server. Every request the page makes is recorded.
 */
import { describe, expect, it } from 'bun:test'
import { useServer } from '../support/harness.ts'
import { BROWSER_TEST_MS, newPerson, screenshot, useBrowser } from './support/browser.ts'

const chrome = useBrowser()
const { serve } = useServer()

describe('Docs pages', () => {
  it(
    'renders /swagger with no request leaving the machine',
    async () => {
      const server = serve()
      const { page } = await newPerson(chrome.browser)
      const requests: string[] = []
      const failed: string[] = []
      page.on('request', (r) => requests.push(r.url()))
      page.on('requestfailed', (r) => failed.push(r.url()))
      await page.goto(`${server.httpUrl}/swagger`)
      await page.getByRole('heading', { name: /Bun chat server/ }).waitFor()
      // The operations come from /swagger/json: one of them proves the document loaded.
      await page.getByText('/rooms/{id}/messages', { exact: true }).waitFor()
      // The document's security schemes give Swagger UI its Authorize button.
      await page
        .getByRole('button', { name: /Authorize/ })
        .first()
        .waitFor()
      await screenshot(page, 'swagger')

      const origin = new URL(server.httpUrl).origin
      const outside = requests.filter(
        (url) => !url.startsWith('data:') && new URL(url).origin !== origin,
      )
      expect(outside).toEqual([])
      expect(failed).toEqual([])
      expect(requests).toContain(`${origin}/swagger/assets/swagger-ui-bundle.js`)
      expect(requests).toContain(`${origin}/swagger/json`)
    },
    BROWSER_TEST_MS,
  )

  it(
    'links the chat page to /swagger and to the protocol reference',
    async () => {
      const server = serve()
      const { page } = await newPerson(chrome.browser)
      await page.goto(server.httpUrl)
      await page.getByRole('link', { name: 'Protocol reference' }).click()
      await page.getByText('# Wire protocol').waitFor()
      expect(new URL(page.url()).pathname).toBe('/docs/protocol.md')
      await page.goBack()
      await page.getByRole('link', { name: 'REST API (Swagger)' }).click()
      await page.getByRole('heading', { name: /Bun chat server/ }).waitFor()
    },
    BROWSER_TEST_MS,
  )
})

/**
 * The web plugin: the chat page at `/`, the Swagger UI at `/swagger` from local assets,
 * and the protocol reference at `/docs/protocol.md`. Every file is imported, so Bun embeds
 * it in the compiled executable and `bun run start` serves the same bytes: nothing is
 * fetched from another host, the page works on a closed network.
 */
import { Elysia } from 'elysia'
import swaggerCss from 'swagger-ui-dist/swagger-ui.css' with { type: 'file' }
import swaggerBundle from 'swagger-ui-dist/swagger-ui-bundle.js' with { type: 'file' }
import protocolDoc from '../../docs/protocol.md' with { type: 'text' }
import page from '../web/index.html'

/** Where the Swagger UI page loads its assets from. */
const ASSETS = '/swagger/assets'

/** The OpenAPI document, made from the routes (openapi.ts). */
const SPEC_URL = '/swagger/json'

const SWAGGER_PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Bun chat server · REST API</title>
  <link rel="stylesheet" href="${ASSETS}/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="${ASSETS}/swagger-ui-bundle.js"></script>
  <script src="${ASSETS}/init.js"></script>
</body>
</html>
`

// validatorUrl: null, or Swagger UI asks validator.swagger.io to check the document.
const SWAGGER_INIT = `window.ui = SwaggerUIBundle(${JSON.stringify({
  url: SPEC_URL,
  dom_id: '#swagger-ui',
  validatorUrl: null,
  deepLinking: true,
})})
`

const html = (body: string) =>
  new Response(body, { headers: { 'content-type': 'text/html; charset=utf-8' } })

const hidden = { detail: { hide: true } }

/** The page, the Swagger UI and the docs, as a named plugin. */
export function webPlugin() {
  return (
    new Elysia({ name: 'chat-web' })
      // An HTML import: Bun bundles the page's TypeScript and CSS itself and serves the
      // chunks next to it (at build time in the executable, at startup otherwise).
      .get('/', page, hidden)
      .get('/swagger', html(SWAGGER_PAGE), hidden)
      .get(
        `${ASSETS}/swagger-ui-bundle.js`,
        new Response(Bun.file(swaggerBundle), {
          headers: { 'content-type': 'text/javascript; charset=utf-8' },
        }),
        hidden,
      )
      .get(
        `${ASSETS}/swagger-ui.css`,
        new Response(Bun.file(swaggerCss), {
          headers: { 'content-type': 'text/css; charset=utf-8' },
        }),
        hidden,
      )
      .get(
        `${ASSETS}/init.js`,
        new Response(SWAGGER_INIT, {
          headers: { 'content-type': 'text/javascript; charset=utf-8' },
        }),
        hidden,
      )
      // text/plain so that a browser shows it instead of downloading it.
      .get(
        '/docs/protocol.md',
        new Response(protocolDoc, { headers: { 'content-type': 'text/plain; charset=utf-8' } }),
        hidden,
      )
  )
}

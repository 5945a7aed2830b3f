/**
 * The page's only way to build elements. Children given as strings become text nodes, so
 * whatever a user typed is shown as text, never parsed as HTML.
 */

type Attrs = Record<string, string | number | boolean | undefined>

/** `<tag attrs…>children…</tag>`; `false` and `undefined` attributes are left out. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue
    node.setAttribute(name, value === true ? '' : String(value))
  }
  node.append(...children)
  return node
}

/** The element with this id in the page, of the expected class; throws if it is missing. */
export function byId<T extends HTMLElement>(id: string, type: { new (): T }): T {
  const node = document.getElementById(id)
  if (!(node instanceof type)) throw new Error(`The page has no <${type.name}> #${id}`)
  return node
}

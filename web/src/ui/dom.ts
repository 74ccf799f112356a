// Building the page with DOM APIs only. Text always goes in as text nodes,
// never as markup, so nothing a participant types (a name, later a chat
// message) can become HTML. There is deliberately no helper that takes HTML.

export type Child = Node | string | null | undefined | false;

export interface Props {
  class?: string;
  id?: string;
  text?: string;
  /** Attributes; false, null and undefined leave one out. No `style`, no `on…`: use element.style and `on`. */
  attrs?: Record<string, string | number | boolean | null | undefined>;
  /** Properties set directly (value, checked, disabled, type …). */
  props?: Record<string, unknown>;
  on?: Partial<{ [K in keyof HTMLElementEventMap]: (ev: HTMLElementEventMap[K]) => void }>;
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, p: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (p.class) node.className = p.class;
  if (p.id) node.id = p.id;
  if (p.attrs) setAttrs(node, p.attrs);
  if (p.props) Object.assign(node, p.props);
  if (p.on) {
    for (const [type, fn] of Object.entries(p.on)) node.addEventListener(type, fn as EventListener);
  }
  if (p.text !== undefined) node.textContent = p.text;
  append(node, ...children);
  return node;
}

export function setAttrs(node: Element, attrs: Record<string, string | number | boolean | null | undefined>): void {
  for (const [name, value] of Object.entries(attrs)) {
    const lower = name.toLowerCase();
    if (lower === "style" || lower.startsWith("on")) throw new Error(`refusing to set attribute ${name}`);
    if (value === false || value === null || value === undefined) node.removeAttribute(name);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
}

export function append(parent: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
  }
}

/** Replaces all children of `parent`. */
export function replace(parent: Node & ParentNode, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}

export function setPressed(button: HTMLElement, pressed: boolean): void {
  button.setAttribute("aria-pressed", pressed ? "true" : "false");
}

export function show(node: HTMLElement, visible: boolean): void {
  node.hidden = !visible;
}

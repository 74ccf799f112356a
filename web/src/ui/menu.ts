// A menu button (WAI-ARIA "menu button" pattern): the button opens a list of
// actions; arrow keys, Home and End move between them; Escape closes the
// menu and gives focus back to the button; a click elsewhere closes it.

import { el, replace, type Child } from "./dom.js";

export interface MenuItem {
  /** Put in data-action, for styling and tests. */
  action: string;
  label: string;
  /** A link, or else an action to run. */
  href?: string;
  /** The link opens in a new tab (so following it does not leave a meeting). */
  newTab?: boolean;
  run?: () => void;
  danger?: boolean;
  /** The item's element id (tests and labels find it by that). */
  id?: string;
  /** An icon before the label. */
  icon?: Child;
  /** A tooltip: more than the label says (a shortcut, why it is disabled). */
  title?: string;
  /** An item that is on or off (role menuitemcheckbox, aria-checked). */
  checked?: boolean;
  /** Shown but not usable now. */
  disabled?: boolean;
  /** A small count or mark after the label (e.g. unanswered polls). */
  badge?: string;
  /** A line above the item: the start of another group (e.g. the host's items). */
  separated?: boolean;
}

export interface MenuOptions {
  id?: string;
  /** The button's accessible name (e.g. "More actions for Ada"). */
  label: string;
  /** What the button shows. */
  content: Child[];
  buttonClass?: string;
  /** Non-interactive lines above the items (e.g. the signed-in e-mail). */
  header?: () => Child[];
  /** The items, computed when the menu opens, so they are always current. */
  items: () => MenuItem[];
  /** Open upwards (for a menu at the bottom of the screen). */
  up?: boolean;
}

export class MenuButton {
  readonly root: HTMLDivElement;
  readonly button: HTMLButtonElement;
  private readonly list: HTMLDivElement;
  private open = false;

  constructor(private readonly o: MenuOptions) {
    const menuId = o.id ? `${o.id}-menu` : undefined;
    this.button = el(
      "button",
      {
        ...(o.id ? { id: o.id } : {}),
        class: o.buttonClass ?? "icon-button",
        attrs: { type: "button", "aria-haspopup": "menu", "aria-expanded": "false", "aria-label": o.label, title: o.label, "aria-controls": menuId },
      },
      ...o.content,
    );
    this.list = el("div", { ...(menuId ? { id: menuId } : {}), class: `menu${o.up ? " up" : ""}`, attrs: { role: "menu", "aria-label": o.label, hidden: true } });
    this.root = el("div", { class: "menu-wrap" }, this.button, this.list);

    this.button.addEventListener("click", () => (this.open ? this.close(true) : this.show(0)));
    this.button.addEventListener("keydown", (ev) => {
      if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
        ev.preventDefault();
        this.show(ev.key === "ArrowUp" ? -1 : 0);
      }
    });
    this.list.addEventListener("keydown", (ev) => this.onKey(ev));
    this.list.addEventListener("focusout", (ev) => {
      const to = ev.relatedTarget;
      if (this.open && !(to instanceof Node && this.root.contains(to))) this.close(false);
    });
  }

  get isOpen(): boolean {
    return this.open;
  }

  /** Opens the menu with focus on item `focus` (-1: the last). */
  show(focus: number): void {
    const items = this.o.items();
    const nodes = items.map((it) => {
      const attrs = {
        role: it.checked === undefined ? "menuitem" : "menuitemcheckbox",
        tabindex: -1,
        "data-action": it.action,
        ...(it.id !== undefined ? { id: it.id } : {}),
        ...(it.title !== undefined ? { title: it.title } : {}),
        ...(it.checked !== undefined ? { "aria-checked": String(it.checked) } : {}),
      };
      const cls = `menu-item${it.danger ? " danger" : ""}${it.icon ? " with-icon" : ""}${it.separated ? " separated" : ""}`;
      const content: Child[] = it.icon
        ? [it.icon, el("span", { class: "menu-item-label", text: it.label }), it.badge ? el("span", { class: "menu-item-badge", text: it.badge }) : null]
        : [];
      const text = it.icon ? {} : { text: it.label };
      if (it.href !== undefined) {
        const tab = it.newTab ? { target: "_blank", rel: "noopener" } : {};
        return el("a", { class: cls, ...text, attrs: { ...attrs, ...tab, href: it.href } }, ...content);
      }
      const b = el(
        "button",
        {
          class: cls,
          ...text,
          attrs: { ...attrs, type: "button" },
          on: {
            click: () => {
              if (it.disabled) return;
              this.close(true);
              it.run?.();
            },
          },
        },
        ...content,
      );
      // aria-disabled, not disabled: a disabled button cannot take focus, and the arrow keys would skip it silently.
      if (it.disabled) b.setAttribute("aria-disabled", "true");
      return b;
    });
    const header = this.o.header?.() ?? [];
    replace(this.list, header.length ? el("div", { class: "menu-header", attrs: { role: "presentation" } }, ...header) : null, ...nodes);
    if (nodes.length === 0) return;
    this.open = true;
    this.list.hidden = false;
    this.button.setAttribute("aria-expanded", "true");
    document.addEventListener("pointerdown", this.onOutside, true);
    (nodes.at(focus) ?? nodes[0]!).focus();
  }

  close(focusButton: boolean): void {
    if (!this.open) return;
    this.open = false;
    this.list.hidden = true;
    this.button.setAttribute("aria-expanded", "false");
    document.removeEventListener("pointerdown", this.onOutside, true);
    if (focusButton && this.button.isConnected) this.button.focus();
  }

  private items(): HTMLElement[] {
    return [...this.list.querySelectorAll<HTMLElement>('[role="menuitem"]')];
  }

  private onKey(ev: KeyboardEvent): void {
    const items = this.items();
    const i = items.indexOf(document.activeElement as HTMLElement);
    let next: number | null = null;
    switch (ev.key) {
      case "ArrowDown":
        next = (i + 1) % items.length;
        break;
      case "ArrowUp":
        next = (i - 1 + items.length) % items.length;
        break;
      case "Home":
        next = 0;
        break;
      case "End":
        next = items.length - 1;
        break;
      case "Escape":
        ev.preventDefault();
        ev.stopPropagation();
        this.close(true);
        return;
      case "Tab":
        this.close(false);
        return;
      default:
        return;
    }
    ev.preventDefault();
    items[next]?.focus();
  }

  private readonly onOutside = (ev: Event): void => {
    if (!(ev.target instanceof Node && this.root.contains(ev.target))) this.close(false);
  };
}

// The waiting room as hosts and co-hosts see it, at the top of the
// participants panel: who is waiting, whether they signed in, and buttons to
// let them in or turn them away.

import type { WaitingEntry } from "../meeting/protocol.js";
import { hueOf, initials } from "../meeting/roster.js";
import { el, replace, show } from "./dom.js";

export interface WaitingRoomActions {
  admit(id: string): void;
  deny(id: string): void;
  admitAll(): void;
  denyAll(): void;
}

export class WaitingRoomList {
  readonly root: HTMLElement;
  private readonly heading: HTMLHeadingElement;
  private readonly list: HTMLUListElement;
  private readonly admitAll: HTMLButtonElement;
  private readonly denyAll: HTMLButtonElement;

  constructor(private readonly actions: WaitingRoomActions) {
    this.heading = el("h3", { id: "waiting-room-title", text: "Waiting room" });
    this.admitAll = el("button", { id: "admit-all", class: "button small primary", text: "Admit all", attrs: { type: "button" }, on: { click: () => actions.admitAll() } });
    this.denyAll = el("button", { id: "deny-all", class: "button small", text: "Deny all", attrs: { type: "button" }, on: { click: () => actions.denyAll() } });
    this.list = el("ul", { class: "people-list waiting-list", attrs: { "aria-labelledby": "waiting-room-title" } });
    this.root = el(
      "section",
      { id: "waiting-room", class: "waiting-room", attrs: { "aria-labelledby": "waiting-room-title", hidden: true } },
      el("div", { class: "waiting-room-header" }, this.heading, this.denyAll, this.admitAll),
      this.list,
    );
  }

  render(entries: readonly WaitingEntry[]): void {
    show(this.root, entries.length > 0);
    this.heading.textContent = `Waiting room (${entries.length})`;
    show(this.admitAll, entries.length > 1);
    show(this.denyAll, entries.length > 1);
    replace(this.list, ...entries.map((e) => this.item(e)));
  }

  focus(): void {
    (this.list.querySelector<HTMLElement>('button[data-action="admit"]') ?? this.heading).focus();
  }

  private item(e: WaitingEntry): HTMLLIElement {
    const avatar = el("span", { class: "people-avatar", attrs: { "aria-hidden": "true" }, text: initials(e.name) });
    avatar.style.setProperty("--hue", String(hueOf(e.id)));
    return el(
      "li",
      { attrs: { "data-waiting": e.id, "data-signed-in": e.signedIn ? "true" : "false", "data-banned-network": e.bannedNetwork ? "true" : "false" } },
      avatar,
      el(
        "span",
        { class: "people-text" },
        el("span", { class: "people-name", text: e.name }),
        el(
          "span",
          { class: "people-sub" },
          el("span", { class: e.signedIn ? "signed-in" : "guest", text: e.signedIn ? "Signed in" : "Guest" }),
          e.bannedNetwork
            ? el("span", {
                class: "banned-network",
                text: "Same network as someone you banned",
                attrs: { title: "Someone a host removed and banned from this meeting used the same network. Admit all leaves this person waiting; admit them only if you know them." },
              })
            : null,
        ),
      ),
      el(
        "span",
        { class: "waiting-actions" },
        el("button", {
          class: "button small",
          text: "Deny",
          attrs: { type: "button", "data-action": "deny", "aria-label": `Deny entry to ${e.name}` },
          on: { click: () => this.actions.deny(e.id) },
        }),
        el("button", {
          class: "button small primary",
          text: "Admit",
          attrs: { type: "button", "data-action": "admit", "aria-label": `Admit ${e.name}` },
          on: { click: () => this.actions.admit(e.id) },
        }),
      ),
    );
  }
}

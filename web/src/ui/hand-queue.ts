// Raised hands on screen (issue 14): the raise/lower button for the
// controls bar, the ordered queue at the top of the participants panel
// (with a "Lower" button for hosts and co-hosts, and for one's own hand),
// a hand on each raised person's tile and row (the controls' SVG hand, not
// an emoji), and, for hosts, a chip over the meeting that says how many
// hands are up. meeting/hands.ts keeps the queue.

import type { RaisedHand } from "../meeting/hands.js";
import { el, replace, setPressed, show } from "./dom.js";
import { icon } from "./icons.js";

export interface HandQueueActions {
  toggle(): void;
  lower(participant: string): void;
  /** Opens the participants panel (from the hosts' chip). */
  showPeople(): void;
}

export interface HandQueueState {
  queue: readonly RaisedHand[];
  name(participant: string): string;
  selfId: string | null;
  moderator: boolean;
}

export class HandQueueView {
  /** The controls bar's button. */
  readonly button: HTMLButtonElement;
  /** The queue, for the top of the participants panel. */
  readonly section: HTMLElement;
  /** For hosts: how many hands are up, over the meeting. */
  readonly chip: HTMLButtonElement;
  private readonly list: HTMLOListElement;
  private readonly heading: HTMLHeadingElement;
  private state: HandQueueState | null = null;

  constructor(private readonly actions: HandQueueActions) {
    this.button = el(
      "button",
      {
        id: "toggle-hand",
        class: "control",
        attrs: { type: "button", "aria-label": "Raise hand", "aria-pressed": "false", title: "Raise your hand" },
        on: { click: () => actions.toggle() },
      },
      icon("hand"),
    );
    this.heading = el("h3", { id: "hand-queue-title", text: "Raised hands" });
    this.list = el("ol", { class: "hand-queue-list", attrs: { "aria-labelledby": "hand-queue-title" } });
    this.section = el("section", { id: "hand-queue", class: "hand-queue", attrs: { hidden: true } }, this.heading, this.list);
    this.chip = el("button", {
      id: "hands-chip",
      class: "hands-chip",
      attrs: { type: "button", hidden: true, title: "Show the raised hands" },
      on: { click: () => actions.showPeople() },
    });
  }

  /** Draws the button, the queue and the chip. */
  render(s: HandQueueState): void {
    this.state = s;
    const mine = s.selfId !== null && s.queue.some((h) => h.participant === s.selfId);
    setPressed(this.button, mine);
    this.button.title = mine ? "Lower your hand" : "Raise your hand";
    this.button.setAttribute("aria-label", mine ? "Lower hand" : "Raise hand");
    this.heading.textContent = `Raised hands (${s.queue.length})`;
    replace(
      this.list,
      ...s.queue.map((h, i) => {
        const self = h.participant === s.selfId;
        const name = s.name(h.participant);
        return el(
          "li",
          { attrs: { "data-participant": h.participant } },
          // The list's own numbers go with display: flex; the place is read from the ordered list.
          el("span", { class: "hand-place", text: `${i + 1}.`, attrs: { "aria-hidden": "true" } }),
          el("span", { class: "hand-name", text: self ? `${name} (you)` : name }),
          s.moderator || self
            ? el("button", {
                class: "button small",
                text: "Lower",
                attrs: { type: "button", "data-action": "lower-hand", "aria-label": self ? "Lower your hand" : `Lower ${name}'s hand` },
                on: { click: () => this.actions.lower(h.participant) },
              })
            : null,
        );
      }),
    );
    show(this.section, s.queue.length > 0);
    show(this.chip, s.moderator && s.queue.length > 0);
    const first = s.queue[0];
    const text = s.queue.length === 0 ? "" : s.queue.length === 1 ? `${s.name(first!.participant)} raised a hand` : `${s.queue.length} raised hands`;
    if (this.chip.dataset.text !== text) {
      this.chip.dataset.text = text;
      replace(this.chip, ...(text ? [icon("hand", "hand-mark"), el("span", { text })] : []));
    }
  }

  /** Marks raised hands (with their place in the queue) on tiles and on the participants panel's rows. */
  decorate(gallery: HTMLElement, people: HTMLElement): void {
    const s = this.state;
    if (!s) return;
    const place = new Map(s.queue.map((h, i) => [h.participant, i + 1]));
    for (const tile of gallery.querySelectorAll<HTMLElement>(".tile:not(.screen)")) {
      const n = place.get(tile.dataset.participant ?? "") ?? 0;
      let badge = tile.querySelector<HTMLElement>(":scope > .tile-hand");
      if (n === 0) {
        badge?.remove();
        continue;
      }
      if (!badge) {
        badge = el("div", { class: "tile-hand" });
        tile.appendChild(badge);
      }
      mark(badge, n);
    }
    for (const row of people.querySelectorAll<HTMLElement>(".people-list li[data-participant]")) {
      const n = place.get(row.dataset.participant ?? "") ?? 0;
      let badge = row.querySelector<HTMLElement>(":scope > .people-hand");
      if (n === 0) {
        delete row.dataset.hand;
        badge?.remove();
        continue;
      }
      row.dataset.hand = String(n);
      if (!badge) {
        badge = el("span", { class: "people-hand" });
        // Before the microphone and camera states, as the tile's mark is before its name.
        row.insertBefore(badge, row.querySelector(":scope > .people-states"));
      }
      mark(badge, n);
    }
    // Raised hands belong where the participants panel starts.
    const body = people.querySelector(".side-panel-body");
    if (body && body.firstElementChild !== this.section) body.prepend(this.section);
  }
}

/**
 * A raised hand's mark (on a tile, or a participant's row): the controls'
 * hand icon and the place in the queue, the same on every system (no
 * emoji font), read out as "Hand raised, 1st in the queue".
 */
function mark(badge: HTMLElement, n: number): void {
  const label = `Hand raised, ${ordinal(n)} in the queue`;
  if (badge.dataset.place === String(n)) return;
  badge.dataset.place = String(n);
  badge.setAttribute("role", "img");
  badge.setAttribute("aria-label", label);
  badge.title = label;
  replace(badge, icon("hand", "hand-mark"), el("span", { class: "hand-place", text: String(n), attrs: { "aria-hidden": "true" } }));
}

function ordinal(n: number): string {
  const s = n % 100 >= 11 && n % 100 <= 13 ? "th" : (["th", "st", "nd", "rd"][n % 10] ?? "th");
  return `${n}${s}`;
}

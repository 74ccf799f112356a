// Reactions on screen (issue 14): the controls-bar button with its small
// picker of the fixed emoji set, and the reactions floating over tiles for
// a few seconds (meeting/reactions.ts says what may be sent). Tiles are
// found by their participant (ui/tile.ts sets data-participant), so the
// gallery needs to know nothing of reactions.

import { REACTIONS, REACTION_LABELS, REACTION_SHOW_MS, type Reaction } from "../meeting/reactions.js";
import { el } from "./dom.js";
import { icon } from "./icons.js";

/** At most this many reactions float over one tile at once (older ones go first). */
const STACK_MAX = 6;

/** The reaction button and its picker. */
export class ReactionPicker {
  readonly root: HTMLDivElement;
  readonly button: HTMLButtonElement;
  private readonly menu: HTMLDivElement;

  constructor(react: (emoji: Reaction) => void) {
    this.button = el(
      "button",
      {
        id: "toggle-reactions",
        class: "control",
        attrs: { type: "button", "aria-label": "React", "aria-haspopup": "true", "aria-expanded": "false", "aria-controls": "reaction-picker", title: "React" },
        on: { click: () => this.setOpen(this.menu.hidden !== false) },
      },
      icon("smile"),
    );
    this.menu = el(
      "div",
      { id: "reaction-picker", class: "reaction-picker", attrs: { role: "group", "aria-label": "Reactions", hidden: true } },
      ...REACTIONS.map((emoji) =>
        el("button", {
          class: "reaction-choice",
          text: emoji,
          attrs: { type: "button", "data-emoji": emoji, "aria-label": REACTION_LABELS[emoji], title: REACTION_LABELS[emoji] },
          on: { click: () => react(emoji) },
        }),
      ),
    );
    this.root = el("div", { class: "control-popover" }, this.button, this.menu);
    this.root.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape" && this.menu.hidden === false) {
        ev.preventDefault();
        this.setOpen(false);
        this.button.focus();
      }
    });
    document.addEventListener("click", this.onOutside, true);
  }

  setOpen(open: boolean): void {
    this.menu.hidden = !open;
    this.button.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) this.menu.querySelector<HTMLButtonElement>("button")?.focus();
  }

  destroy(): void {
    document.removeEventListener("click", this.onOutside, true);
  }

  private readonly onOutside = (ev: MouseEvent): void => {
    if (this.menu.hidden === false && ev.target instanceof Node && !this.root.contains(ev.target)) this.setOpen(false);
  };
}

/** A person's tile (not their screen share) in the gallery, by participant ID. */
export function tileOf(gallery: HTMLElement, participant: string): HTMLElement | null {
  for (const t of gallery.querySelectorAll<HTMLElement>(".tile:not(.screen)")) {
    if (t.dataset.participant === participant) return t;
  }
  return null;
}

/** Shows a reaction floating over a participant's tile for a few seconds; a stack when several come at once. */
export function showReaction(gallery: HTMLElement, participant: string, emoji: Reaction, name: string): void {
  const tile = tileOf(gallery, participant);
  if (!tile) return;
  let stack = tile.querySelector<HTMLElement>(":scope > .tile-reactions");
  if (!stack) {
    stack = el("div", { class: "tile-reactions", attrs: { "aria-hidden": "true" } });
    tile.appendChild(stack);
  }
  const r = el("span", { class: "reaction", text: emoji, attrs: { "data-emoji": emoji, title: `${name}: ${REACTION_LABELS[emoji]}` } });
  stack.appendChild(r);
  while (stack.children.length > STACK_MAX) stack.firstElementChild!.remove();
  window.setTimeout(() => r.remove(), REACTION_SHOW_MS);
}

// The panels beside the meeting's gallery, at most one open at a time: the
// participants (with the waiting room), the chat, and end-to-end encryption.
// Each has a button in the controls bar (controls-bar.ts) that shows
// whether it is open.

import { ChatPanel, type ChatActions } from "./chat.js";
import { setPressed, show } from "./dom.js";
import { ParticipantsPanel, type PanelActions } from "./participants.js";
import { SecurityPanel, type SecurityActions } from "./security.js";

export type Side = "people" | "chat" | "security";

export interface SidePanelsActions {
  people: Omit<PanelActions, "close">;
  chat: Omit<ChatActions, "close">;
  security: Omit<SecurityActions, "close">;
  /** A panel's close button. */
  close(): void;
}

export class SidePanels {
  readonly people: ParticipantsPanel;
  readonly chat: ChatPanel;
  readonly security: SecurityPanel;
  /** Which panel is open, if any. */
  showing: Side | null = null;

  constructor(actions: SidePanelsActions) {
    const close = () => actions.close();
    this.people = new ParticipantsPanel({ ...actions.people, close });
    this.chat = new ChatPanel({ ...actions.chat, close });
    this.security = new SecurityPanel({ ...actions.security, close });
  }

  /** The panels' elements, in the order they sit beside the gallery. */
  get roots(): HTMLElement[] {
    return [this.people.root, this.chat.root, this.security.root];
  }

  /**
   * Opens one panel (or none) and marks the buttons that open them (the
   * encryption indicator is not a toggle, so it only says whether its panel
   * is expanded). Returns the panel that was open before.
   */
  select(which: Side | null, buttons: Readonly<Record<Side, HTMLButtonElement>>): Side | null {
    const was = this.showing;
    this.showing = which;
    const panels = [
      ["people", this.people.root],
      ["chat", this.chat.root],
      ["security", this.security.root],
    ] as const;
    for (const [name, root] of panels) {
      const open = which === name;
      show(root, open);
      if (name !== "security") setPressed(buttons[name], open);
      buttons[name].setAttribute("aria-expanded", open ? "true" : "false");
    }
    return was;
  }
}

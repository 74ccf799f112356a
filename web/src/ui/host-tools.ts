// The host's and co-hosts' part of the controls bar: lock the meeting and
// (host only) end it for everyone, beside the bar; its settings and the
// breakout rooms, in the bar's "More" menu; plus the notice that someone is
// waiting, so a host sees arrivals with the panel closed.

import type { WaitingEntry } from "../meeting/protocol.js";
import { el, replace, setPressed, show } from "./dom.js";
import { icon } from "./icons.js";
import type { MenuItem } from "./menu.js";

export interface HostToolActions {
  lock(locked: boolean): void;
  openSettings(): void;
  /** Plans, opens, shows or closes breakout rooms. */
  openBreakouts(): void;
  endForAll(): void;
  admit(id: string): void;
  showWaitingRoom(): void;
}

export class HostTools {
  /** The buttons for the controls bar. */
  readonly root: HTMLDivElement;
  /** The arrival notice, shown above the controls bar. */
  readonly arrivals: HTMLDivElement;
  private readonly lockButton: HTMLButtonElement;
  private readonly endButton: HTMLButtonElement;
  private readonly arrivalText: HTMLSpanElement;
  private readonly arrivalAdmit: HTMLButtonElement;
  private arrivalId: string | null = null;
  private locked = false;
  private moderator = false;

  constructor(private readonly actions: HostToolActions) {
    this.lockButton = el("button", {
      id: "lock-meeting",
      class: "control",
      attrs: { type: "button", "aria-pressed": "false", "aria-label": "Lock the meeting" },
      on: { click: () => actions.lock(!this.locked) },
    });
    this.endButton = el("button", {
      id: "end-for-all",
      class: "button end-button",
      text: "End for all",
      attrs: { type: "button", title: "End the meeting for everyone", "aria-haspopup": "dialog" },
      on: { click: () => actions.endForAll() },
    });
    this.root = el("div", { class: "host-tools", attrs: { role: "group", "aria-label": "Host controls" } }, this.lockButton, this.endButton);

    this.arrivalText = el("span", { class: "arrival-text" });
    this.arrivalAdmit = el("button", {
      id: "waiting-toast-admit",
      class: "button small primary",
      text: "Admit",
      attrs: { type: "button" },
      on: {
        click: () => {
          if (this.arrivalId !== null) actions.admit(this.arrivalId);
          this.hideArrivals();
        },
      },
    });
    const view = el("button", {
      id: "waiting-toast-view",
      class: "button small",
      text: "View",
      attrs: { type: "button" },
      on: {
        click: () => {
          this.hideArrivals();
          actions.showWaitingRoom();
        },
      },
    });
    const dismiss = el(
      "button",
      { class: "icon-button small", attrs: { type: "button", "aria-label": "Dismiss", title: "Dismiss" }, on: { click: () => this.hideArrivals() } },
      icon("close"),
    );
    this.arrivals = el(
      "div",
      { id: "waiting-toast", class: "toast arrivals", attrs: { role: "status", "aria-live": "polite" } },
      icon("people"),
      this.arrivalText,
      this.arrivalAdmit,
      view,
      dismiss,
    );
    show(this.arrivals, false);
    this.render(false, false, false);
  }

  /** Shows the tools a role may use, and the lock's state. */
  render(moderator: boolean, host: boolean, locked: boolean): void {
    this.locked = locked;
    this.moderator = moderator;
    show(this.root, moderator);
    show(this.endButton, host);
    setPressed(this.lockButton, locked);
    this.lockButton.classList.toggle("active", locked);
    this.lockButton.title = locked ? "Unlock the meeting: let new people join" : "Lock the meeting: nobody new can join";
    replace(this.lockButton, icon(locked ? "lock" : "unlock"));
    if (!moderator) this.hideArrivals();
  }

  /** The host's items for the "More" menu (none for others). */
  menuItems(): MenuItem[] {
    if (!this.moderator) return [];
    return [
      {
        action: "meeting-settings",
        id: "open-meeting-settings",
        label: "Meeting settings",
        icon: icon("shield"),
        title: "Who may share, unmute, chat and rename; the waiting room",
        separated: true,
        run: () => this.actions.openSettings(),
      },
      { action: "breakouts", id: "open-breakouts", label: "Breakout rooms", icon: icon("rooms"), run: () => this.actions.openBreakouts() },
    ];
  }

  /** Tells a host who arrived in the waiting room; `waiting` is everyone waiting now. */
  arrived(arrived: readonly WaitingEntry[], waiting: readonly WaitingEntry[]): void {
    if (waiting.length === 0) {
      this.hideArrivals();
      return;
    }
    if (arrived.length === 0) {
      // Someone left or was admitted: keep the notice true, or drop it.
      if (this.arrivals.hidden) return;
    }
    const one = waiting.length === 1 ? waiting[0]! : null;
    this.arrivalId = one?.id ?? null;
    this.arrivalText.textContent = one ? `${one.name} is waiting to join` : `${waiting.length} people are waiting to join`;
    show(this.arrivalAdmit, one !== null);
    show(this.arrivals, true);
  }

  hideArrivals(): void {
    show(this.arrivals, false);
    this.arrivalId = null;
  }
}

// The controls bar under the meeting: the meeting's ID with its invite link
// to copy, whether the meeting is end-to-end encrypted (a button to the
// encryption panel), whether it is locked and which breakout room this is;
// the microphone, camera, screen, people, chat and leave buttons, always in
// sight, and a "More" menu for what is used less (device settings, layout,
// polls, the host's settings and breakout rooms); and the host's lock and
// "End for all" (host-tools.ts). It draws and reports clicks; the meeting
// screen decides what each click does and what the bar shows.

import { copyText } from "../lib/clipboard.js";
import { screenShareSupported } from "../meeting/devices.js";
import { el, replace, setPressed, show } from "./dom.js";
import { HostTools, type HostToolActions } from "./host-tools.js";
import { icon, type IconName } from "./icons.js";
import { MenuButton, type MenuItem } from "./menu.js";

/** The privacy and about pages, last in the "More" menu; they open in a new tab, so the meeting goes on. */
function aboutLinks(): MenuItem[] {
  return [
    { action: "privacy", id: "menu-privacy", label: "Privacy", icon: icon("shield"), href: "/privacy", newTab: true, separated: true, title: "What Kaigi stores, and why (opens a new tab)" },
    { action: "transparency", id: "menu-transparency", label: "Transparency report", icon: icon("poll"), href: "/transparency", newTab: true, title: "What the administrators did, counted (opens a new tab)" },
    { action: "about", id: "menu-about", label: "About Kaigi", icon: icon("logo"), href: "/about", newTab: true, title: "The version and how to check it (opens a new tab)" },
  ];
}

/** A device button: pressed when the device is on. */
export interface ControlButton {
  button: HTMLButtonElement;
  /**
   * `blocked` marks the button as not usable now (aria-disabled, dimmed, a
   * lock) and says why in its tooltip and description; it still takes
   * clicks, so that pressing it shows the reason as a notice.
   */
  set(on: boolean, busy: boolean, blocked?: string | null): void;
}

function controlButton(id: string, label: string, onIcon: IconName, offIcon: IconName, titles: [on: string, off: string]): ControlButton {
  const why = el("span", { id: `${id}-why`, class: "visually-hidden" });
  const button = el("button", { id, class: "control", attrs: { type: "button", "aria-label": label, "aria-pressed": "false" } });
  return {
    button,
    set(on, busy, blocked = null) {
      setPressed(button, on);
      button.classList.toggle("off", !on);
      if (blocked !== null) button.setAttribute("aria-disabled", "true");
      else button.removeAttribute("aria-disabled");
      button.classList.toggle("blocked", blocked !== null);
      button.title = blocked ?? (on ? titles[0] : titles[1]);
      why.textContent = blocked ?? "";
      if (blocked !== null) button.setAttribute("aria-describedby", why.id);
      else button.removeAttribute("aria-describedby");
      if (busy) button.setAttribute("aria-busy", "true");
      else button.removeAttribute("aria-busy");
      const lock = blocked !== null ? el("span", { class: "control-lock", attrs: { "aria-hidden": "true" } }, icon("lock")) : null;
      replace(button, icon(on ? onIcon : offIcon), why, lock);
    },
  };
}

export interface ControlsBarActions extends HostToolActions {
  toggleMic(): void;
  toggleCamera(): void;
  toggleScreen(): void;
  togglePeople(): void;
  toggleChat(): void;
  toggleSecurity(): void;
  /** Opens the camera, microphone and speaker choice. */
  openDevices(): void;
  leave(): void;
  /** Copies the invite link; false when the browser would not. */
  copyLink(): Promise<boolean>;
}

/** Whether the meeting's media is end-to-end encrypted, as the bar's indicator shows it. */
export type E2eeState = "off" | "joining" | "on";

export class ControlsBar {
  readonly root: HTMLDivElement;
  readonly mic: ControlButton;
  readonly camera: ControlButton;
  readonly screen: ControlButton;
  /** The buttons that open the side panels (side-panels.ts), by panel. */
  readonly toggles: { readonly people: HTMLButtonElement; readonly chat: HTMLButtonElement; readonly security: HTMLButtonElement };
  readonly hostTools: HostTools;
  private readonly peopleButton: HTMLButtonElement;
  /** One badge: how many are in the meeting, marked (a dot, another colour) while people wait for a host. */
  private readonly peopleBadge: HTMLSpanElement;
  private readonly chatUnread: HTMLSpanElement;
  private readonly e2eeIndicator: HTMLButtonElement;
  private readonly lockedIndicator: HTMLSpanElement;
  private readonly roomIndicator: HTMLSpanElement;
  /** The "More" menu, and where its items come from besides the bar's own and the host's. */
  readonly more: MenuButton;
  private readonly moreBadge: HTMLSpanElement;
  private readonly menuSources: (() => MenuItem[])[] = [];

  constructor(meetingId: string, actions: ControlsBarActions) {
    this.mic = controlButton("toggle-mic", "Microphone", "mic", "micOff", ["Turn off the microphone (Ctrl+D)", "Turn on the microphone (Ctrl+D)"]);
    this.camera = controlButton("toggle-camera", "Camera", "camera", "cameraOff", ["Turn off the camera (Ctrl+E)", "Turn on the camera (Ctrl+E)"]);
    this.screen = controlButton("toggle-screen", "Share screen", "screenStop", "screen", ["Stop sharing your screen", "Share your screen"]);
    this.mic.button.addEventListener("click", () => actions.toggleMic());
    this.camera.button.addEventListener("click", () => actions.toggleCamera());
    this.screen.button.addEventListener("click", () => actions.toggleScreen());
    if (!screenShareSupported) this.screen.set(false, false, "This browser cannot share the screen");

    this.peopleBadge = el("span", { id: "people-badge", class: "badge", attrs: { "aria-hidden": "true" } });
    this.peopleButton = el(
      "button",
      {
        id: "toggle-participants",
        class: "control",
        attrs: { type: "button", "aria-label": "Participants", "aria-pressed": "false", "aria-expanded": "false", "aria-controls": "participants", title: "Show everyone" },
        on: { click: () => actions.togglePeople() },
      },
      icon("people"),
      this.peopleBadge,
    );
    this.chatUnread = el("span", { id: "chat-unread", class: "badge attention", attrs: { "aria-hidden": "true", hidden: true } });
    const chatButton = el(
      "button",
      {
        id: "toggle-chat",
        class: "control",
        attrs: { type: "button", "aria-label": "Chat", "aria-pressed": "false", "aria-expanded": "false", "aria-controls": "chat", title: "Chat" },
        on: { click: () => actions.toggleChat() },
      },
      icon("chat"),
      this.chatUnread,
    );
    this.e2eeIndicator = el("button", {
      id: "e2ee-indicator",
      class: "e2ee-indicator",
      attrs: { type: "button", "aria-controls": "security", "aria-expanded": "false" },
      on: { click: () => actions.toggleSecurity() },
    });
    this.toggles = { people: this.peopleButton, chat: chatButton, security: this.e2eeIndicator };
    const devices: MenuItem = {
      action: "devices",
      id: "open-devices",
      label: "Audio and video settings",
      icon: icon("settings"),
      title: "Choose camera, microphone and speaker",
      run: () => actions.openDevices(),
    };
    this.moreBadge = el("span", { id: "more-badge", class: "badge attention", attrs: { "aria-hidden": "true", hidden: true } });
    this.more = new MenuButton({
      id: "more-controls",
      label: "More options",
      content: [icon("more"), this.moreBadge],
      buttonClass: "control",
      up: true,
      items: () => [devices, ...this.menuSources.flatMap((source) => source()), ...this.hostTools.menuItems(), ...aboutLinks()],
    });
    const leave = el(
      "button",
      { id: "leave", class: "control leave", attrs: { type: "button", "aria-label": "Leave the meeting", title: "Leave the meeting" }, on: { click: () => actions.leave() } },
      icon("leave"),
    );
    const copyLink = el(
      "button",
      { id: "copy-meeting-link", class: "icon-button", attrs: { type: "button", "aria-label": "Copy the invite link", title: "Copy the invite link" } },
      icon("copy"),
    );
    const copyStatus = el("span", { class: "copy-status", attrs: { "aria-live": "polite" } });
    this.roomIndicator = el("span", { id: "breakout-indicator", class: "breakout-indicator", attrs: { hidden: true } });
    this.lockedIndicator = el(
      "span",
      { id: "locked-indicator", class: "locked-indicator", attrs: { title: "A host locked the meeting: nobody new can join", hidden: true } },
      icon("lock"),
      el("span", { text: "Locked" }),
    );
    // The ID may be cut short in a narrow bar: whole in its tooltip, and a click copies it whole.
    const meetingIdButton = el("button", {
      id: "copy-meeting-id",
      class: "meeting-id",
      text: meetingId,
      attrs: { type: "button", title: `Meeting ID ${meetingId} (click to copy)`, "aria-label": `Meeting ID ${meetingId}: copy` },
    });
    meetingIdButton.addEventListener("click", async () => {
      const ok = await copyText(meetingId);
      copyStatus.textContent = ok ? "Meeting ID copied" : "The browser would not copy the ID";
      window.setTimeout(() => (copyStatus.textContent = ""), 3000);
    });
    this.hostTools = new HostTools(actions);
    copyLink.addEventListener("click", async () => {
      const ok = await actions.copyLink();
      copyStatus.textContent = ok ? "Invite link copied" : "The browser would not copy the link";
      window.setTimeout(() => (copyStatus.textContent = ""), 3000);
    });

    this.root = el(
      "div",
      { class: "controls" },
      el("div", { class: "controls-info" }, this.e2eeIndicator, meetingIdButton, copyLink, copyStatus, this.roomIndicator, this.lockedIndicator),
      el(
        "div",
        { class: "controls-main", attrs: { role: "toolbar", "aria-label": "Meeting controls" } },
        this.mic.button,
        this.camera.button,
        this.screen.button,
        this.peopleButton,
        chatButton,
        this.more.root,
        leave,
      ),
      el("div", { class: "controls-end" }, this.hostTools.root),
    );
  }

  /** Adds buttons to the toolbar, before the "More" menu (reactions, raised hand: meeting/interactions-screen.ts). */
  addControls(...nodes: HTMLElement[]): void {
    const main = this.root.querySelector(".controls-main")!;
    for (const n of nodes) main.insertBefore(n, this.more.root);
  }

  /** Adds items to the "More" menu, after the device settings and before the host's (layout, polls); `source` is asked each time the menu opens. */
  addMenuItems(source: () => MenuItem[]): void {
    this.menuSources.push(source);
  }

  /** Marks the "More" button while something in it wants attention (polls to answer). */
  setMoreAttention(count: number): void {
    this.moreBadge.textContent = String(count);
    show(this.moreBadge, count > 0);
    this.more.button.setAttribute("aria-label", count > 0 ? `More options (${count} poll${count === 1 ? "" : "s"} to answer)` : "More options");
  }

  /** The breakout room this participant is in (null: the main room), kept in sight in the bar. */
  setRoom(name: string | null): void {
    this.roomIndicator.textContent = name === null ? "" : `Breakout: ${name}`;
    this.roomIndicator.title = name === null ? "" : `You are in the breakout room ${name}`;
    show(this.roomIndicator, name !== null);
  }

  /** How many people are in the meeting, on the people button's badge. */
  setPeople(count: number): void {
    this.peopleBadge.textContent = String(count);
  }

  /** How many people are waiting: the people button's badge is marked while there are some and `visible` (hosts). */
  setWaiting(count: number, visible: boolean): void {
    const marked = visible && count > 0;
    this.peopleBadge.classList.toggle("waiting", marked);
    if (marked) this.peopleBadge.dataset.waiting = String(count);
    else delete this.peopleBadge.dataset.waiting;
  }

  /** The people button's tooltip and label: the number waiting when a host has people waiting, else everyone. */
  describePeople(waiting: number, everyone: number): void {
    this.peopleButton.title = waiting > 0 ? `Show everyone (${waiting} waiting)` : `Show everyone (${everyone})`;
    this.peopleButton.setAttribute("aria-label", waiting > 0 ? `Participants, ${waiting} waiting to join` : "Participants");
  }

  /** Chat messages not seen yet, on the chat button. */
  setUnread(count: number): void {
    this.chatUnread.textContent = String(count);
    show(this.chatUnread, count > 0);
  }

  setLocked(locked: boolean): void {
    show(this.lockedIndicator, locked);
  }

  /** The encryption indicator; `code` is the security code, shown in its tooltip when `state` is "on". */
  setE2ee(state: E2eeState, code: string): void {
    this.e2eeIndicator.dataset.state = state;
    const text = state === "off" ? "Not end-to-end encrypted" : state === "on" ? "End-to-end encrypted" : "Securing…";
    this.e2eeIndicator.title = state === "on" ? `End-to-end encrypted. Security code ${code}` : text;
    this.e2eeIndicator.setAttribute("aria-label", `${text}: details`);
    replace(this.e2eeIndicator, icon(state === "off" ? "unlock" : "lock"), el("span", { class: "e2ee-label", text }));
  }
}

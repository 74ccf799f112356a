// The participants panel: the waiting room (for hosts), then everyone in the
// meeting with their role, whether they are a guest, their microphone,
// camera and screen, and — for what the viewer may do to them — a menu.
// Rows are kept per participant and updated in place, so an open menu
// survives someone else unmuting.

import { NOT_E2EE_HINT, NOT_E2EE_LABEL, VIEWER_HINT, VIEWER_LABEL } from "../meeting/ingest.js";
import { MENU_LABELS, isModerator, menuActions, type MenuAction } from "../meeting/permissions.js";
import type { MediaState, Participant, WaitingEntry } from "../meeting/protocol.js";
import { hueOf, initials } from "../meeting/roster.js";
import type { Settings } from "../meeting/settings.js";
import { el, replace, show } from "./dom.js";
import { icon } from "./icons.js";
import { MenuButton } from "./menu.js";
import { WaitingRoomList } from "./waiting-room-list.js";

const ROLE_LABELS: Record<string, string> = { host: "Host", cohost: "Co-host" };

export interface PanelActions {
  /** An action from a participant's menu. */
  participant(action: MenuAction, p: Participant): void;
  admit(id: string): void;
  deny(id: string): void;
  admitAll(): void;
  denyAll(): void;
  muteAll(): void;
  close(): void;
}

/** What the panel shows, all at once. */
export interface PanelState {
  people: readonly Participant[];
  selfId: string | null;
  /** This participant's own media, newer than the server's echo of it. */
  local: MediaState;
  selfName: string;
  /** The viewer's role. */
  role: string;
  settings: Settings | null;
  waiting: readonly WaitingEntry[];
}

export class ParticipantsPanel {
  readonly root: HTMLElement;
  private readonly list: HTMLUListElement;
  private readonly heading: HTMLHeadingElement;
  private readonly muteAll: HTMLButtonElement;
  private readonly waitingRoom: WaitingRoomList;
  private readonly rows = new Map<string, Row>();
  private state: PanelState | null = null;

  constructor(private readonly actions: PanelActions) {
    this.heading = el("h2", { id: "participants-title", text: "People" });
    this.list = el("ul", { class: "people-list", attrs: { "aria-labelledby": "participants-title" } });
    const close = el(
      "button",
      { class: "icon-button", attrs: { type: "button", "aria-label": "Close the participant list", title: "Close" }, on: { click: () => actions.close() } },
      icon("close"),
    );
    this.muteAll = el("button", { id: "mute-all", class: "button small", text: "Mute all", attrs: { type: "button", title: "Mute everyone but the hosts" }, on: { click: () => actions.muteAll() } });
    this.waitingRoom = new WaitingRoomList(actions);
    this.root = el(
      "aside",
      { id: "participants", class: "side-panel", attrs: { "aria-labelledby": "participants-title", hidden: true } },
      el("div", { class: "side-panel-header" }, this.heading, close),
      el("div", { class: "side-panel-body" }, this.waitingRoom.root, el("div", { class: "panel-tools" }, this.muteAll), this.list),
    );
    this.root.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape" && !ev.defaultPrevented) actions.close();
    });
  }

  render(s: PanelState): void {
    this.state = s;
    const people = [...s.people];
    if (s.selfId === null || !people.some((p) => p.id === s.selfId)) {
      people.unshift({ id: s.selfId ?? "", name: s.selfName, role: s.role, signedIn: true, joinedAt: "", ...s.local, connection: "connected", mutedByHost: false });
    }
    this.heading.textContent = `People (${people.length})`;
    const moderator = isModerator(s.role);
    show(this.muteAll, moderator && people.length > 1);
    this.waitingRoom.render(moderator ? s.waiting : []);

    const seen = new Set<string>();
    const ordered: HTMLLIElement[] = [];
    for (const p of people) {
      const self = p.id === s.selfId;
      const shown = self ? { ...p, ...s.local, connection: "connected" } : p;
      let row = this.rows.get(p.id);
      if (!row) {
        row = new Row(() => this.menuFor(p.id));
        this.rows.set(p.id, row);
      }
      row.update(shown, self, menuActions(s.role, shown, self, s.settings).length > 0);
      seen.add(p.id);
      ordered.push(row.root);
    }
    for (const [id, row] of this.rows) {
      if (!seen.has(id)) {
        row.root.remove();
        this.rows.delete(id);
      }
    }
    const current = [...this.list.children];
    if (current.length !== ordered.length || current.some((c, i) => c !== ordered[i])) replace(this.list, ...ordered);
  }

  /** Focuses the waiting room (from the arrival notice). */
  focusWaitingRoom(): void {
    this.waitingRoom.focus();
  }

  private menuFor(id: string) {
    const s = this.state;
    const p = s?.people.find((x) => x.id === id);
    if (!s || !p) return [];
    const self = id === s.selfId;
    return menuActions(s.role, self ? { ...p, ...s.local } : p, self, s.settings).map((a) => ({
      action: a,
      label: self && a === "rename" ? "Change your name…" : MENU_LABELS[a],
      danger: a === "remove",
      run: () => this.actions.participant(a, p),
    }));
  }
}

/** One participant's row. */
class Row {
  readonly root: HTMLLIElement;
  private readonly avatar: HTMLSpanElement;
  private readonly name: HTMLSpanElement;
  private readonly you: HTMLSpanElement;
  private readonly sub: HTMLSpanElement;
  private readonly states: HTMLSpanElement;
  private readonly menu: MenuButton;
  private label = "";

  constructor(items: () => ReturnType<ParticipantsPanel["menuFor"]>) {
    this.avatar = el("span", { class: "people-avatar", attrs: { "aria-hidden": "true" } });
    this.name = el("span", { class: "name" });
    this.you = el("span", { class: "you", text: " (you)" });
    this.sub = el("span", { class: "people-sub" });
    this.states = el("span", { class: "people-states" });
    this.menu = new MenuButton({
      label: "More actions",
      content: [icon("more")],
      buttonClass: "icon-button row-menu",
      items,
    });
    this.menu.button.dataset.action = "more";
    this.root = el(
      "li",
      {},
      this.avatar,
      el("span", { class: "people-text" }, el("span", { class: "people-name" }, this.name, this.you), this.sub),
      this.states,
      this.menu.root,
    );
  }

  update(p: Participant, self: boolean, hasMenu: boolean): void {
    const r = this.root;
    r.className = p.connection === "reconnecting" ? "reconnecting" : "";
    r.dataset.participant = p.id;
    r.dataset.role = p.role;
    r.dataset.signedIn = p.signedIn ? "true" : "false";
    r.dataset.audio = p.audio ? "on" : "off";
    r.dataset.video = p.video ? "on" : "off";
    r.dataset.screen = p.screen ? "on" : "off";
    r.dataset.connection = p.connection;
    r.dataset.ingest = p.ingest ? "true" : "false";
    r.dataset.viewer = p.viewer ? "true" : "false";
    this.avatar.textContent = initials(p.name);
    this.avatar.style.setProperty("--hue", String(hueOf(p.id || "self")));
    this.name.textContent = p.name;
    show(this.you, self);
    const role = ROLE_LABELS[p.role];
    replace(
      this.sub,
      role ? el("span", { class: "role", text: role }) : null,
      p.ingest
        ? el("span", { class: "not-e2ee", text: p.viewer ? VIEWER_LABEL : NOT_E2EE_LABEL, attrs: { title: p.viewer ? VIEWER_HINT : NOT_E2EE_HINT } })
        : p.signedIn
          ? null
          : el("span", { class: "guest", text: "Guest", attrs: { title: "Joined without an account" } }),
      p.connection === "reconnecting" ? el("span", { class: "connection", text: "Reconnecting…" }) : null,
    );
    replace(
      this.states,
      p.screen ? stateIcon("screen", "Presenting", "on") : null,
      stateIcon(p.video ? "camera" : "cameraOff", p.video ? "Camera on" : "Camera off", p.video ? "on" : "off"),
      stateIcon(p.audio ? "mic" : "micOff", p.audio ? "Microphone on" : "Microphone off", p.audio ? "on" : "off"),
    );
    const label = self ? "Your options" : `Actions for ${p.name}`;
    if (label !== this.label) {
      this.label = label;
      this.menu.button.setAttribute("aria-label", label);
      this.menu.button.title = label;
    }
    // Keep an open menu open; hide the button only when it is closed.
    this.menu.root.hidden = !hasMenu && !this.menu.isOpen;
  }
}

function stateIcon(name: "mic" | "micOff" | "camera" | "cameraOff" | "screen", label: string, state: "on" | "off"): HTMLSpanElement {
  return el("span", { class: `state state-${state}`, attrs: { title: label } }, icon(name), el("span", { class: "visually-hidden", text: label }));
}

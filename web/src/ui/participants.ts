// The participants panel: everyone in the meeting with their microphone,
// camera and screen state.

import type { MediaState, Participant } from "../protocol.js";
import { hueOf, initials } from "../roster.js";
import { el, replace } from "./dom.js";
import { icon } from "./icons.js";

const ROLE_LABELS: Record<string, string> = { host: "Host", cohost: "Co-host" };

export class ParticipantsPanel {
  readonly root: HTMLElement;
  private readonly list: HTMLUListElement;
  private readonly heading: HTMLHeadingElement;

  constructor(onClose: () => void) {
    this.heading = el("h2", { id: "participants-title", text: "People" });
    this.list = el("ul", { class: "people-list" });
    const close = el(
      "button",
      { class: "icon-button", attrs: { type: "button", "aria-label": "Close the participant list", title: "Close" }, on: { click: onClose } },
      icon("close"),
    );
    this.root = el(
      "aside",
      { id: "participants", class: "side-panel", attrs: { "aria-labelledby": "participants-title", hidden: true } },
      el("div", { class: "side-panel-header" }, this.heading, close),
      this.list,
    );
    this.root.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape") onClose();
    });
  }

  /** `self` is shown with the local media state, which is newer than the server's echo of it. */
  render(people: readonly Participant[], selfId: string | null, local: MediaState, selfName: string): void {
    this.heading.textContent = `People (${people.length || 1})`;
    const items: HTMLLIElement[] = [];
    const selfListed = selfId !== null && people.some((p) => p.id === selfId);
    if (!selfListed) {
      items.push(this.item({ id: selfId ?? "", name: selfName, role: "participant", joinedAt: "", ...local, connection: "connected" }, true));
    }
    for (const p of people) {
      const isSelf = p.id === selfId;
      items.push(this.item(isSelf ? { ...p, ...local, connection: "connected" } : p, isSelf));
    }
    replace(this.list, ...items);
  }

  private item(p: Participant, self: boolean): HTMLLIElement {
    const states = el(
      "span",
      { class: "people-states" },
      p.screen ? stateIcon("screen", "Presenting", "on") : null,
      stateIcon(p.video ? "camera" : "cameraOff", p.video ? "Camera on" : "Camera off", p.video ? "on" : "off"),
      stateIcon(p.audio ? "mic" : "micOff", p.audio ? "Microphone on" : "Microphone off", p.audio ? "on" : "off"),
    );
    const avatar = el("span", { class: "people-avatar", attrs: { "aria-hidden": "true" }, text: initials(p.name) });
    avatar.style.setProperty("--hue", String(hueOf(p.id || "self")));
    const role = ROLE_LABELS[p.role];
    return el(
      "li",
      {
        class: p.connection === "reconnecting" ? "reconnecting" : "",
        attrs: {
          "data-participant": p.id,
          "data-audio": p.audio ? "on" : "off",
          "data-video": p.video ? "on" : "off",
          "data-screen": p.screen ? "on" : "off",
          "data-connection": p.connection,
        },
      },
      avatar,
      el(
        "span",
        { class: "people-text" },
        el("span", { class: "people-name" }, el("span", { class: "name", text: p.name }), self ? el("span", { class: "you", text: " (you)" }) : null),
        role || p.connection === "reconnecting"
          ? el(
              "span",
              { class: "people-sub" },
              role ? el("span", { class: "role", text: role }) : null,
              p.connection === "reconnecting" ? el("span", { class: "connection", text: "Reconnecting…" }) : null,
            )
          : null,
      ),
      states,
    );
  }
}

function stateIcon(name: "mic" | "micOff" | "camera" | "cameraOff" | "screen", label: string, state: "on" | "off"): HTMLSpanElement {
  return el("span", { class: `state state-${state}`, attrs: { title: label } }, icon(name), el("span", { class: "visually-hidden", text: label }));
}

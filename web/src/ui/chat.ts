// The chat panel: messages (end-to-end encrypted, see meeting/secure.ts) as plain
// text — only https: addresses become links (lib/linkify.ts) — with who sent
// them, to everyone or privately, and a box to write. No HTML is ever built
// from a message.

import { linkify } from "../lib/linkify.js";
import type { Participant } from "../meeting/protocol.js";
import { CHAT_MAX, type ChatMessage } from "../meeting/secure.js";
import { el, replace, show } from "./dom.js";
import { icon } from "./icons.js";

export interface ChatActions {
  send(text: string, to: string | null): Promise<void>;
  close(): void;
}

/** What the panel needs to show messages. */
export interface ChatState {
  messages: readonly ChatMessage[];
  people: readonly Participant[];
  selfId: string | null;
  /** Why the person cannot chat now, or null. */
  blocked: string | null;
  /** A note on what protects the chat. */
  note: string;
}

export class ChatPanel {
  readonly root: HTMLElement;
  private readonly list: HTMLOListElement;
  private readonly input: HTMLTextAreaElement;
  private readonly to: HTMLSelectElement;
  private readonly send: HTMLButtonElement;
  private readonly blocked: HTMLParagraphElement;
  private readonly note: HTMLParagraphElement;
  private shown = 0;

  constructor(private readonly actions: ChatActions) {
    const heading = el("h2", { id: "chat-title", text: "Chat" });
    const close = el(
      "button",
      { class: "icon-button", attrs: { type: "button", "aria-label": "Close the chat", title: "Close" }, on: { click: () => actions.close() } },
      icon("close"),
    );
    this.list = el("ol", { id: "chat-messages", class: "chat-messages", attrs: { "aria-live": "polite", "aria-labelledby": "chat-title" } });
    this.note = el("p", { class: "chat-note" });
    this.blocked = el("p", { class: "chat-blocked", attrs: { role: "status" } });
    this.to = el("select", { id: "chat-to", attrs: { "aria-label": "Send to" } });
    this.input = el("textarea", { id: "chat-input", attrs: { rows: 2, maxlength: CHAT_MAX, "aria-label": "Message", placeholder: "Send a message" } });
    this.send = el("button", { id: "chat-send", class: "button primary small", text: "Send", attrs: { type: "submit" } });
    const form = el("form", { class: "chat-form", attrs: { novalidate: true } }, el("label", { class: "chat-to-label", text: "To " }, this.to), this.input, this.send);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      void this.submit();
    });
    this.input.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && !ev.shiftKey) {
        ev.preventDefault();
        void this.submit();
      }
    });
    this.root = el(
      "aside",
      { id: "chat", class: "side-panel chat-panel", attrs: { "aria-labelledby": "chat-title", hidden: true } },
      el("div", { class: "side-panel-header" }, heading, close),
      el("div", { class: "side-panel-body chat-body" }, this.note, this.list, this.blocked, form),
    );
  }

  private async submit(): Promise<void> {
    const text = this.input.value;
    if (text.trim() === "" || this.send.disabled) return;
    this.send.disabled = true;
    try {
      await this.actions.send(text, this.to.value || null);
      this.input.value = "";
    } finally {
      this.send.disabled = false;
      this.input.focus();
    }
  }

  focus(): void {
    this.input.focus();
  }

  render(s: ChatState): void {
    this.note.textContent = s.note;
    const names = new Map(s.people.map((p) => [p.id, p.name]));
    // Recipients: everyone, or one of the others.
    const current = this.to.value;
    const options = [el("option", { text: "Everyone", props: { value: "" } })];
    for (const p of s.people) if (p.id !== s.selfId) options.push(el("option", { text: `${p.name} (privately)`, props: { value: p.id } }));
    replace(this.to, ...options);
    this.to.value = options.some((o) => o.value === current) ? current : "";

    this.blocked.textContent = s.blocked ?? "";
    show(this.blocked, s.blocked !== null);
    this.input.disabled = s.blocked !== null;
    this.send.disabled = s.blocked !== null;

    for (const m of s.messages.slice(this.shown)) this.list.appendChild(this.item(m, names));
    this.shown = s.messages.length;
    this.list.scrollTop = this.list.scrollHeight;
  }

  private item(m: ChatMessage, names: Map<string, string>): HTMLLIElement {
    const who = m.label ?? (m.self ? "You" : (names.get(m.from) ?? "Someone who left"));
    let header = who;
    if (m.private) header += m.self ? ` to ${names.get(m.to ?? "") ?? "someone"} (privately)` : " (privately, to you)";
    const time = new Date(m.at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    const text = el("p", { class: "chat-text" });
    for (const piece of linkify(m.text)) {
      if ("href" in piece) {
        text.appendChild(el("a", { text: piece.text, attrs: { href: piece.href, target: "_blank", rel: "noopener noreferrer nofollow" } }));
      } else {
        text.appendChild(document.createTextNode(piece.text));
      }
    }
    const li = el(
      "li",
      { class: m.self ? "chat-message self" : "chat-message" },
      el("div", { class: "chat-meta" }, el("span", { class: "chat-from", text: header }), el("time", { text: time })),
      text,
    );
    li.dataset.from = m.from;
    li.dataset.private = m.private ? "true" : "false";
    return li;
  }
}

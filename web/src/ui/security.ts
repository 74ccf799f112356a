// The end-to-end encryption panel: whether this meeting is end-to-end
// encrypted, the security code everyone can compare out loud, and each
// member of the encrypted group with its key fingerprint, which a person
// can mark as verified (remembered on this device; a changed key is
// flagged). Members the group has but the meeting does not show, or two
// members claiming to be one person, are shown as warnings: that is how
// an "invisible participant" would show.

import type { MemberView, SecurityWarning } from "../e2ee/member.js";
import type { Verification } from "../e2ee/identity-store.js";
import type { Participant } from "../meeting/protocol.js";
import { el, replace } from "./dom.js";
import { icon } from "./icons.js";

export interface SecurityActions {
  verification(m: MemberView): Promise<Verification>;
  verify(m: MemberView): Promise<void>;
  forget(m: MemberView): Promise<void>;
  close(): void;
}

export interface SecurityState {
  /** The meeting is end-to-end encrypted. */
  e2ee: boolean;
  /** This browser is in the encrypted group (has the keys). */
  inGroup: boolean;
  code: string;
  members: readonly MemberView[];
  people: readonly Participant[];
  warnings: readonly SecurityWarning[];
  /** Participants long in the meeting without a key. */
  keyless: readonly string[];
}

/** What is wrong with the group, in words for everyone's screen; empty when nothing is. */
export function groupProblems(s: Pick<SecurityState, "e2ee" | "inGroup" | "members" | "people" | "warnings" | "keyless">): string[] {
  if (!s.e2ee) return [];
  const names = new Map(s.people.map((p) => [p.id, p.name]));
  const out: string[] = [];
  for (const m of s.members) {
    const who = m.participant !== null ? (names.get(m.participant) ?? m.name ?? m.participant) : null;
    switch (m.problem) {
      case "unclaimed":
        out.push(`Someone who is not in the participant list holds this meeting's keys (key ${m.fingerprint}).`);
        break;
      case "absent":
        out.push(`A key holder claims to be ${who}, who is not in this meeting (key ${m.fingerprint}).`);
        break;
      case "mismatch":
        out.push(`A key holder was let in as one person and claims to be ${who} (key ${m.fingerprint}).`);
        break;
      case "conflict":
        out.push(`Two keys claim to be ${who}. One of them is not who it says (key ${m.fingerprint}).`);
        break;
      case "account":
        out.push(`A key holder claims to be ${who}, but its key is not for ${who}'s account (key ${m.fingerprint}).`);
        break;
      case null:
        break;
    }
  }
  for (const id of s.keyless) {
    const name = names.get(id) ?? id;
    out.push(`${name} is in the participant list but holds no key: they cannot hear this meeting, and nothing they send can be shown as theirs.`);
  }
  for (const w of s.warnings) out.push(w.text);
  return out;
}

export class SecurityPanel {
  readonly root: HTMLElement;
  private readonly status: HTMLParagraphElement;
  private readonly code: HTMLElement;
  private readonly list: HTMLUListElement;
  private readonly warnings: HTMLDivElement;
  private renderSeq = 0;

  constructor(private readonly actions: SecurityActions) {
    const heading = el("h2", { id: "security-title", text: "Encryption" });
    const close = el(
      "button",
      { class: "icon-button", attrs: { type: "button", "aria-label": "Close", title: "Close" }, on: { click: () => actions.close() } },
      icon("close"),
    );
    this.status = el("p", { id: "e2ee-status", class: "e2ee-status" });
    this.code = el("output", { id: "security-code", class: "security-code", attrs: { "aria-label": "Security code" } });
    this.warnings = el("div", { id: "e2ee-warnings", class: "e2ee-warnings", attrs: { role: "alert" } });
    this.list = el("ul", { id: "e2ee-members", class: "people-list e2ee-members", attrs: { "aria-label": "Members of the encrypted group" } });
    this.root = el(
      "aside",
      { id: "security", class: "side-panel security-panel", attrs: { "aria-labelledby": "security-title", hidden: true } },
      el("div", { class: "side-panel-header" }, heading, close),
      el(
        "div",
        { class: "side-panel-body" },
        this.status,
        el("h3", { text: "Security code" }),
        this.code,
        el("p", {
          class: "hint",
          text: "Everyone in the meeting sees a security code. Read yours out loud: if everyone's is the same, you are all in one encrypted group, whose key holders are listed below — nobody else, not the server, not its operators, can see or hear this meeting. It changes whenever someone joins or leaves, and every few minutes.",
        }),
        this.warnings,
        el("h3", { text: "Who holds the keys (the code covers exactly these)" }),
        this.list,
        el("p", {
          class: "hint",
          text: "Each person's key fingerprint is shown on their device too. Compare it once (in person, or on a call you trust) and mark them verified: this device remembers it, and warns if their key ever changes.",
        }),
      ),
    );
  }

  async render(s: SecurityState): Promise<void> {
    const seq = ++this.renderSeq;
    this.root.dataset.state = !s.e2ee ? "off" : s.inGroup ? "on" : "joining";
    this.status.textContent = !s.e2ee
      ? "This meeting is not end-to-end encrypted: the connection to the server is encrypted, but the server could see and hear the meeting. Your organisation turned end-to-end encryption off for it."
      : s.inGroup
        ? "This meeting is end-to-end encrypted. Video, audio and chat are encrypted on each device with keys only the people below hold; the server passes on only what it cannot read."
        : "Setting up end-to-end encryption: waiting to receive the meeting's keys from someone already in it.";
    this.code.textContent = s.e2ee && s.inGroup ? s.code : "—";

    const names = new Map(s.people.map((p) => [p.id, p.name]));
    const warnings = groupProblems(s).map((text) => el("p", { class: "e2ee-problem", text }));
    const rows: HTMLLIElement[] = [];
    for (const m of s.members) {
      const name = m.participant !== null ? (names.get(m.participant) ?? m.name ?? "Someone who left") : m.joining ? "Joining…" : null;
      const row = el("li", {}, el("span", { class: "people-text" }, el("span", { class: "people-name", text: (name ?? "Unknown") + (m.self ? " (you)" : "") }), el("span", { class: "fingerprint", text: m.fingerprint })));
      row.dataset.leaf = String(m.leaf);
      row.dataset.participant = m.participant ?? "";
      if (m.problem !== null) row.dataset.problem = m.problem;
      if (!m.self && m.participant !== null) {
        const v = await this.actions.verification(m);
        if (seq !== this.renderSeq) return;
        row.dataset.verified = v.status;
        if (v.status === "guest") {
          row.appendChild(el("span", { class: "guest", text: "Guest, unverified" }));
        } else if (v.status === "verified") {
          // The name the person had when verified: a verified key under a
          // new name is someone the user knows, perhaps not who the name says.
          const same = v.name.trim().toLowerCase() === (name ?? "").trim().toLowerCase();
          row.appendChild(el("span", { class: same ? "verified" : "verified key-changed", text: same || v.name === "" ? "Verified" : `Verified as ${v.name}` }));
          row.appendChild(el("button", { class: "button small", text: "Forget", attrs: { type: "button", "data-action": "forget" }, on: { click: () => void this.actions.forget(m) } }));
        } else {
          if (v.status === "key-changed") row.appendChild(el("span", { class: "key-changed", text: `Not a device you verified for this account (you verified ${v.previousFingerprint})` }));
          row.appendChild(el("button", { class: "button small", text: "Mark as verified", attrs: { type: "button", "data-action": "verify" }, on: { click: () => void this.actions.verify(m) } }));
        }
      }
      rows.push(row);
    }
    // People in the meeting without a key yet.
    const inGroup = new Set(s.members.map((m) => m.participant));
    for (const p of s.people) {
      if (s.e2ee && s.inGroup && !inGroup.has(p.id)) {
        const row = el("li", { class: "pending" }, el("span", { class: "people-text" }, el("span", { class: "people-name", text: p.name }), el("span", { class: "fingerprint", text: "receiving the keys…" })));
        row.dataset.participant = p.id;
        row.dataset.pending = "true";
        rows.push(row);
      }
    }
    replace(this.warnings, ...warnings);
    replace(this.list, ...rows);
  }
}

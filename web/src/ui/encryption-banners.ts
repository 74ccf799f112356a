// The two banners over the meeting about end-to-end encryption:
//
// - what this browser may send (meeting/send-policy.ts): nothing, with a way to
//   leave, when encryption is expected and the server says otherwise; a
//   standing note when the meeting is not encrypted;
// - who can hear the meeting (ui/security.ts `groupProblems`): whatever is
//   wrong with the encrypted group, on every member's screen, with a way
//   to the details.

import type { Sending } from "../meeting/send-policy.js";
import { el, replace, show } from "./dom.js";
import { icon } from "./icons.js";

export interface EncryptionBannerActions {
  leave(): void;
  details(): void;
}

export class EncryptionBanners {
  /** #encryption-banner: what may be sent. */
  readonly sending: HTMLDivElement;
  /** #e2ee-alert: problems with who holds the keys. */
  readonly group: HTMLDivElement;

  constructor(private readonly actions: EncryptionBannerActions) {
    this.sending = el("div", { id: "encryption-banner", class: "encryption-banner" });
    show(this.sending, false);
    this.group = el("div", { id: "e2ee-alert", class: "encryption-banner", attrs: { role: "alert", "data-kind": "group" } });
    show(this.group, false);
  }

  /** `e2ee`: the server says the meeting is encrypted. */
  showSending(sending: Sending | null, e2ee: boolean): void {
    const b = this.sending;
    if (sending === "refuse") {
      // A role of alert: read out at once, whatever the person is doing.
      b.dataset.kind = "downgrade";
      b.setAttribute("role", "alert");
      replace(
        b,
        icon("unlock"),
        el(
          "div",
          { class: "encryption-banner-text" },
          el("strong", {
            text: e2ee ? "This meeting is end-to-end encrypted, and this browser cannot encrypt." : "The server says this meeting is not encrypted, but your invite says it is.",
          }),
          el("span", { text: " Your camera, microphone and screen are not sent. Someone may be trying to listen in: leave, and tell the host." }),
        ),
        el("button", { id: "downgrade-leave", class: "button danger", text: "Leave", attrs: { type: "button" }, on: { click: () => this.actions.leave() } }),
      );
      show(b, true);
    } else if (sending === "clear" || sending === "ask") {
      b.dataset.kind = "clear";
      b.setAttribute("role", "status");
      replace(b, icon("unlock"), el("span", { class: "encryption-banner-text", text: "This meeting is not end-to-end encrypted: the server can see and hear it." }));
      show(b, true);
    } else {
      b.removeAttribute("data-kind");
      show(b, false);
    }
  }

  /** Shows these problems with the encrypted group (none: hidden). */
  showGroup(problems: readonly string[]): void {
    if (problems.length > 0) {
      replace(
        this.group,
        icon("unlock"),
        el("div", { class: "encryption-banner-text" }, el("strong", { text: "Check who can hear this meeting. " }), el("span", { text: problems.join(" ") })),
        el("button", { id: "e2ee-alert-details", class: "button", text: "Details", attrs: { type: "button" }, on: { click: () => this.actions.details() } }),
      );
    }
    show(this.group, problems.length > 0);
  }
}

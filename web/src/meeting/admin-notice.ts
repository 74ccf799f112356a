// An administrator's action on the meeting (issue 15: no action is
// silent), as the server words it with the reason they gave: a banner over
// the meeting until the person dismisses it, the newest replacing the last.

import { el, replace, show } from "../ui/dom.js";

export class AdminNoticeBanner {
  /** #admin-notice: the last administrator's notice, until dismissed. */
  readonly root = el("div", { id: "admin-notice", class: "encryption-banner", attrs: { role: "alert", "data-kind": "admin", hidden: true } });

  show(text: string): void {
    const dismiss = el("button", { id: "admin-notice-dismiss", class: "button", text: "Dismiss", attrs: { type: "button" } });
    dismiss.addEventListener("click", () => show(this.root, false));
    replace(this.root, el("div", { class: "encryption-banner-text" }, el("span", { class: "admin-notice-text", text })), dismiss);
    show(this.root, true);
  }
}

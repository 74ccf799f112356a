// The links every page carries at its foot: what Kaigi stores (the privacy
// page), what its administrators did (the transparency report) and about
// this server (its version and the web client's fingerprint). The meeting screen has them in its "More" menu instead
// (controls-bar.ts), opening in a new tab so the meeting goes on.

import { el } from "./dom.js";

export function siteFooter(): HTMLElement {
  return el(
    "footer",
    { class: "site-footer" },
    el(
      "nav",
      { attrs: { "aria-label": "About this server" } },
      el("a", { id: "footer-privacy", attrs: { href: "/privacy" }, text: "Privacy" }),
      el("a", { id: "footer-transparency", attrs: { href: "/transparency" }, text: "Transparency report" }),
      el("a", { id: "footer-about", attrs: { href: "/about" }, text: "About Kaigi" }),
    ),
  );
}

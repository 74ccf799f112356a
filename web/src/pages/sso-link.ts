// The account page's single sign-on section: when the organisation has a
// provider, its owner links it to this account by signing in to it from
// here (after confirming it is them: linking adds a way in). An account
// someone signed up for themselves is never linked by its e-mail alone
// (anyone may sign up with any address), so this is how its owner links it.

import { asApiError } from "../api/http.js";
import { getSSOButton, linkSSO } from "../api/sso.js";
import { el, replace } from "../ui/dom.js";
import { errorLine, setError, withBusy } from "../ui/forms.js";

export function ssoLinkSection(): HTMLElement {
  const section = el("section", { id: "sso-link", class: "card", attrs: { "aria-labelledby": "sso-link-title", hidden: true } });
  void getSSOButton()
    .then((b) => {
      if (!b.enabled) return;
      const label = b.label.trim() === "" ? "single sign-on" : b.label;
      const error = errorLine("sso-link-error");
      const button = el("button", { id: "sso-link-button", class: "button", text: `Link ${label}`, attrs: { type: "button" } });
      button.addEventListener("click", () =>
        void withBusy(button, async () => {
          try {
            location.assign(await linkSSO());
          } catch (e) {
            setError(error, asApiError(e).message);
          }
        }),
      );
      const linked = new URLSearchParams(location.search).get("sso") === "linked";
      replace(
        section,
        el("h2", { id: "sso-link-title", text: "Single sign-on" }),
        linked ? el("p", { id: "sso-linked", class: "callout", attrs: { role: "status" }, text: `${label} is linked to this account: you can sign in with it.` }) : null,
        el("p", { text: `Sign in with ${label} once from here to link it to this account.` }),
        button,
        error,
      );
      section.hidden = false;
    })
    .catch(() => {
      // No provider to link: the section stays hidden.
    });
  return section;
}

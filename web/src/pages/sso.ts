// Single sign-on on the pages: the sign-in page's "Sign in with …" link
// (a plain top-level navigation to the server, which redirects to the
// organisation's provider), and the admin page's "Single sign-on" card:
// the provider's issuer URL, client ID and secret (sent, never shown
// back), the button's label, allowed e-mail domains, whether a first
// sign-in makes an account or links a member's account by its verified
// e-mail, and whether members may sign in no other way.

import { asApiError } from "../api/http.js";
import { getSSOSettings, saveSSOSettings, SSO_START, ssoButtonText, type SSOButton, type SSOSettings } from "../api/sso.js";
import { el, replace } from "../ui/dom.js";
import { checkbox, errorLine, field, fieldProblem, onSubmit, statusLine, submitButton } from "../ui/forms.js";

/** The sign-in page's link to the provider, or null when none is set up. */
export function ssoSignInLink(b: SSOButton | null): HTMLElement | null {
  if (b === null || !b.enabled) return null;
  return el(
    "p",
    { class: "auth-alt" },
    el("a", { id: "sso-signin", class: "button primary", text: ssoButtonText(b), attrs: { href: SSO_START } }),
    b.ssoOnly ? el("span", { class: "hint", text: " Your organisation signs its members in this way only." }) : null,
  );
}

export function ssoSection(): HTMLElement {
  const box = el("div", { class: "section-body" }, el("p", { class: "hint", text: "Loading…" }));
  const render = (s: SSOSettings): void => replace(box, ssoForm(s, render));
  void getSSOSettings()
    .then(render)
    .catch((e) => replace(box, el("p", { class: "error", text: asApiError(e, "The single sign-on settings could not be loaded.").message })));
  return el(
    "section",
    { id: "sso", class: "card", attrs: { "aria-labelledby": "sso-title" } },
    el("h2", { id: "sso-title", text: "Single sign-on" }),
    el("p", {
      class: "hint",
      text: "Let people sign in with your organisation's OpenID Connect provider (Keycloak, Authentik, Google Workspace, Microsoft Entra ID…). Register Kaigi there as a confidential client with the redirect URI below. People are recognised by the provider's own ID for them, not by their e-mail.",
    }),
    box,
  );
}

function ssoForm(s: SSOSettings, saved: (s: SSOSettings) => void): HTMLElement {
  const enabled = checkbox("sso-enabled", "Offer single sign-on on the sign-in page");
  enabled.input.checked = s.enabled;
  const issuer = field({ id: "sso-issuer", label: "Issuer URL", value: s.issuer, hint: "The provider's issuer, such as https://id.example.com/realms/staff: its discovery document is read from there.", attrs: { spellcheck: "false", maxlength: 512 } });
  const clientId = field({ id: "sso-client-id", label: "Client ID", value: s.clientId, attrs: { spellcheck: "false", maxlength: 512 } });
  const secret = field({
    id: "sso-client-secret",
    label: "Client secret",
    type: "password",
    autocomplete: "new-password",
    hint: s.secretSet ? "A secret is kept (sealed with the server's key; it is never shown). Leave this empty to keep it." : "The secret the provider issued for Kaigi.",
    attrs: { maxlength: 512 },
  });
  const label = field({ id: "sso-label", label: "Button label", value: s.label, hint: "Shown as “Sign in with …”.", attrs: { maxlength: 40 } });
  const domains = field({ id: "sso-domains", label: "Allowed e-mail domains (optional)", value: s.domains.join(" "), hint: "Space-separated, such as example.com staff.example.com. Empty: any e-mail the provider verified.", attrs: { spellcheck: "false" } });
  const create = checkbox("sso-allow-create", "Create an account at a person's first sign-in", "New accounts are members, with the provider's verified e-mail and name.");
  create.input.checked = s.allowCreate;
  const link = checkbox("sso-link-email", "Link an existing member's account by e-mail", "Only when the provider says the e-mail is verified; an administrator's account is never linked this way.");
  link.input.checked = s.linkByEmail;
  const only = checkbox("sso-only", "Members sign in with single sign-on only", "Their passwords and passkeys stop working for sign-in. Administrators keep their password and passkeys, so you cannot be locked out by the provider.");
  only.input.checked = s.ssoOnly;
  const error = errorLine("sso-error");
  const status = statusLine("sso-status");
  const submit = submitButton("sso-save", "Save single sign-on");
  const form = el(
    "form",
    { id: "sso-form", attrs: { novalidate: true, "aria-labelledby": "sso-title" } },
    el("p", {}, "Redirect URI to register at the provider: ", el("code", { id: "sso-redirect-uri", text: s.redirectUri })),
    enabled.root,
    issuer.root,
    clientId.root,
    secret.root,
    label.root,
    domains.root,
    create.root,
    link.root,
    only.root,
    error,
    status,
    submit,
  );
  onSubmit(form, {
    button: submit,
    error,
    status,
    check: () => {
      if (enabled.input.checked && issuer.input.value.trim() === "") return fieldProblem(issuer, "Give the provider's issuer URL.");
      if (enabled.input.checked && clientId.input.value.trim() === "") return fieldProblem(clientId, "Give the client ID the provider issued.");
      return true;
    },
    run: async () => {
      const next = await saveSSOSettings({
        enabled: enabled.input.checked,
        issuer: issuer.input.value.trim(),
        clientId: clientId.input.value.trim(),
        clientSecret: secret.input.value,
        label: label.input.value.trim(),
        domains: domains.input.value.split(/[\s,]+/).filter((d) => d !== ""),
        allowCreate: create.input.checked,
        linkByEmail: link.input.checked,
        ssoOnly: only.input.checked,
      });
      saved(next);
      const line = document.getElementById("sso-status");
      if (line) line.textContent = "Saved.";
    },
  });
  return form;
}

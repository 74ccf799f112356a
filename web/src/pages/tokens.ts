// API tokens: the account page's "API tokens" card (one's personal
// tokens) and the admin page's "Organisation API tokens" card. Each lists
// the tokens with their scopes, expiry and last use, revokes one, and
// makes one: its text is shown this once, with a button that copies it.

import { asApiError } from "../api/http.js";
import { createToken, listTokens, revokeToken, SCOPES, tokenExpired, type ApiToken, type TokenKind } from "../api/tokens.js";
import { copyText } from "../lib/clipboard.js";
import { formatWhen } from "../lib/datetime.js";
import { openDialog } from "../ui/dialog.js";
import { el, replace } from "../ui/dom.js";
import { checkbox, errorLine, field, fieldProblem, onSubmit, selectField, setError, statusLine, submitButton } from "../ui/forms.js";

/** A secret shown once, with a copy button and a warning that it will not be shown again. */
export function secretOnce(id: string, what: string, secret: string): HTMLElement {
  const status = statusLine(`${id}-copied`);
  const value = el("code", { id: `${id}-value`, class: "secret", text: secret });
  const copy = el("button", {
    id: `${id}-copy`,
    class: "button small",
    text: "Copy",
    attrs: { type: "button" },
    on: {
      click: () =>
        void copyText(secret).then((ok) => {
          status.textContent = ok ? "Copied." : "Your browser would not copy it: select it and copy it yourself.";
        }),
    },
  });
  return el(
    "div",
    { id, class: "callout", attrs: { role: "status" } },
    el("p", {}, el("strong", { text: `Your new ${what}. ` }), "Copy it now: it is shown this once, and the server keeps only a scrambled form of it."),
    el("p", { class: "row" }, value, copy),
    status,
  );
}

/** The line under a token: scopes, when made, expiry, last use. */
export function tokenLine(t: ApiToken, now: Date): string {
  const parts = [`Scopes: ${t.scopes.join(", ")}`, `made ${formatWhen(t.createdAt)}`];
  if (t.createdBy) parts.push(`by ${t.createdBy.name || t.createdBy.id}`);
  if (t.expiresAt) parts.push(tokenExpired(t, now) ? `expired ${formatWhen(t.expiresAt)}` : `expires ${formatWhen(t.expiresAt)}`);
  else parts.push("no expiry");
  parts.push(t.lastUsed ? `last used ${formatWhen(t.lastUsed)}` : "never used");
  return `${parts.join("; ")}.`;
}

/** The tokens card of kind: personal (account page) or org (admin page). */
export function tokensSection(kind: TokenKind): HTMLElement {
  const p = kind === "org" ? "org-tokens" : "tokens";
  const box = el("div", { class: "section-body" }, el("p", { class: "hint", text: "Loading tokens…" }));
  const load = (shown: HTMLElement | null = null): void => {
    void listTokens(kind)
      .then((toks) => replace(box, ...(shown ? [shown] : []), tokenList(kind, p, toks, () => load()), createForm(kind, p, load)))
      .catch((e) => replace(box, el("p", { class: "error", text: asApiError(e, "The tokens could not be loaded.").message })));
  };
  load();
  return el(
    "section",
    { id: p, class: "card", attrs: { "aria-labelledby": `${p}-title` } },
    el("h2", { id: `${p}-title`, text: kind === "org" ? "Organisation API tokens" : "API tokens" }),
    el("p", {
      class: "hint",
      text:
        kind === "org"
          ? "For programs that administer the server or manage meetings for the organisation. A token acts with the account of the administrator who made it, and stops working if that account is no longer an administrator. It never changes passwords, two-factor authentication, tokens or webhooks."
          : "For programs of yours that read or manage your meetings through the API (docs/api.md): they send the token as “Authorization: Bearer …”. A token never changes your password, two-factor authentication or tokens, and stops working when revoked or when it expires.",
    }),
    box,
  );
}

function tokenList(kind: TokenKind, p: string, toks: ApiToken[], reload: () => void): HTMLElement {
  if (toks.length === 0) return el("p", { id: `${p}-none`, class: "hint", text: "No token yet." });
  const now = new Date();
  return el(
    "ul",
    { id: `${p}-list`, class: "plain-list" },
    ...toks.map((t) => {
      const error = errorLine(`${p}-revoke-error-${t.id}`);
      const revoke = el("button", {
        class: "button small danger",
        text: "Revoke",
        attrs: { type: "button", "data-action": "revoke", "aria-label": `Revoke ${t.name}` },
        on: {
          click: () =>
            void openDialog(revoke.closest("section") ?? document.body, {
              id: `${p}-revoke-dialog`,
              title: `Revoke “${t.name}”?`,
              body: [el("p", { text: "Programs that use it stop working at once. This cannot be undone." })],
              confirm: { id: `${p}-revoke-confirm`, label: "Revoke", danger: true },
            }).then((ok) => {
              if (!ok) return;
              setError(error, null);
              return revokeToken(kind, t.id)
                .then(reload)
                .catch((e) => setError(error, asApiError(e).message));
            }),
        },
      });
      return el(
        "li",
        { class: "api-token", attrs: { "data-id": t.id, "data-expired": String(tokenExpired(t, now)) } },
        el("strong", { class: "token-name", text: t.name }),
        el("p", { class: "hint", text: tokenLine(t, now) }),
        el("div", { class: "row" }, revoke),
        error,
      );
    }),
  );
}

function createForm(kind: TokenKind, p: string, load: (shown: HTMLElement | null) => void): HTMLFormElement {
  const name = field({ id: `${p}-name`, label: "Name", hint: "What it is for, like “Calendar sync”.", attrs: { maxlength: 64 } });
  const scopes = SCOPES.filter(([s]) => kind === "org" || s !== "admin").map(([s, words]) => ({ scope: s, box: checkbox(`${p}-scope-${s.replace(":", "-")}`, s, words) }));
  const first = scopes[0];
  if (first) first.box.input.checked = true;
  const expiry = selectField(`${p}-expiry`, "Expires", [
    ["30", "In 30 days"],
    ["90", "In 90 days"],
    ["365", "In a year"],
    ["0", "Never"],
  ]);
  const error = errorLine(`${p}-create-error`);
  const submit = submitButton(`${p}-create`, "Create token");
  const form = el(
    "form",
    { id: `${p}-form`, attrs: { novalidate: true, "aria-labelledby": `${p}-form-title` } },
    el("h3", { id: `${p}-form-title`, text: "New token" }),
    name.root,
    el("fieldset", {}, el("legend", { text: "Scopes" }), ...scopes.map((s) => s.box.root)),
    expiry.root,
    error,
    submit,
  );
  onSubmit(form, {
    button: submit,
    error,
    fields: { bad_name: name },
    check: () => {
      if (name.input.value.trim() === "") return fieldProblem(name, "Give it a name.");
      if (!scopes.some((s) => s.box.input.checked)) {
        setError(error, "Choose at least one scope.");
        return false;
      }
      return true;
    },
    run: async () => {
      const chosen = scopes.filter((s) => s.box.input.checked).map((s) => s.scope);
      const made = await createToken(kind, name.input.value.trim(), chosen, Number(expiry.select.value));
      load(secretOnce(`${p}-secret`, `token “${made.token.name}”`, made.secret));
    },
  });
  return form;
}

// The account page's passkeys card: the account's passkeys (name, when
// made, when last used; rename, delete after the password again) and
// adding one, after the password (and a code with two-factor on) again,
// through the browser's own passkey dialog. An account whose organisation
// requires passkeys and has none is sent here and told so.

import type { Me } from "../api/accounts.js";
import { asApiError } from "../api/http.js";
import { deletePasskey, listPasskeys, passkeysSupported, registerPasskey, renamePasskey, type Passkey } from "../api/passkeys.js";
import { formatWhen } from "../lib/datetime.js";
import { el, replace } from "../ui/dom.js";
import { disclosure, errorLine, field, fieldProblem, onSubmit, setError, submitButton } from "../ui/forms.js";
import { recoveryCodesPanel } from "../ui/recovery-codes-panel.js";

/** The passkeys card; refresh draws the account page again after a change. */
export function passkeysSection(m: Me, refresh: () => void): HTMLElement {
  const box = el("div", { class: "section-body" });
  const section = el(
    "section",
    { id: "passkeys", class: "card", attrs: { "aria-labelledby": "passkeys-title" } },
    el("h2", { id: "passkeys-title" }, "Passkeys ", el("span", { id: "passkeys-count", class: `pill ${m.passkeys > 0 ? "on" : "off"}`, attrs: { "data-count": m.passkeys }, text: String(m.passkeys) })),
  );
  if (m.passkeyRequired) {
    section.append(
      el(
        "div",
        { id: "passkey-required", class: "callout", attrs: { role: "alert" } },
        el("strong", { text: `${m.organisation.name || "Your organisation"} requires a passkey.` }),
        " Add one below to keep using your account.",
      ),
    );
  }
  section.append(box);
  if (!passkeysSupported()) {
    box.append(el("p", { id: "passkeys-unsupported", class: "hint", text: "This browser cannot use passkeys. Use a current browser to add or use one." }));
    return section;
  }
  box.append(el("p", { class: "hint", text: "Loading your passkeys…" }));
  void listPasskeys()
    .then(({ passkeys, available }) => draw(box, m, passkeys, available, refresh))
    .catch((e) => replace(box, el("p", { class: "error", text: asApiError(e, "Your passkeys could not be loaded.").message })));
  return section;
}

function draw(box: HTMLElement, m: Me, passkeys: Passkey[], available: boolean, refresh: () => void): void {
  const intro = el("p", {
    text: "A passkey signs you in with your device's screen lock (fingerprint, face or PIN) instead of your password: nothing to type, and nothing a fake site can use. After your password, it is also your second step.",
  });
  const listEl = el("ul", { id: "passkey-list", class: "plain-list" }, ...passkeys.map((p) => row(p, m, refresh)));
  if (!available) {
    replace(box, intro, listEl, el("p", { id: "passkeys-unavailable", class: "hint", text: "This server cannot bind passkeys to its address: its operator sets public_url to a domain name in the configuration." }));
    return;
  }
  // Without an authenticator app, the recovery codes that came with the first passkey are counted here.
  const left = m.user.recoveryCodesLeft;
  const leftLine =
    !m.user.twoFactor && passkeys.length > 0 && left !== undefined
      ? el("p", { id: "passkey-recovery-left", class: left <= 3 ? "warning" : "hint", attrs: { "data-count": left }, text: `${left === 1 ? "1 recovery code" : `${left} recovery codes`} left, for signing in without your passkey.` })
      : null;
  replace(box, intro, passkeys.length > 0 ? listEl : el("p", { id: "passkeys-none", class: "hint", text: "You have no passkey yet." }), leftLine, addForm(box, m, refresh));
}

function row(p: Passkey, m: Me, refresh: () => void): HTMLElement {
  const when = `Added ${formatWhen(p.createdAt)}; ${p.lastUsedAt ? `last used ${formatWhen(p.lastUsedAt)}` : "not used yet"}.`;
  const name = field({ id: `passkey-rename-${p.id}`, label: "New name", value: p.name, attrs: { maxlength: 64, class: "passkey-rename" } });
  const renameError = errorLine(`passkey-rename-error-${p.id}`);
  const renameSubmit = submitButton(`passkey-rename-submit-${p.id}`, "Rename", false);
  const renameForm = el("form", { class: "passkey-rename-form", attrs: { novalidate: true } }, name.root, renameError, renameSubmit);
  onSubmit(renameForm, {
    button: renameSubmit,
    error: renameError,
    check: () => (name.input.value.trim() === "" ? fieldProblem(name, "Give it a name.") : true),
    run: async () => {
      await renamePasskey(p.id, name.input.value.trim());
      refresh();
    },
  });
  const password = field({ id: `passkey-delete-password-${p.id}`, label: "Password", type: "password", autocomplete: "current-password" });
  const code = field({ id: `passkey-delete-code-${p.id}`, label: "Code from your app, or a recovery code", autocomplete: "one-time-code", attrs: { spellcheck: "false" } });
  const deleteError = errorLine(`passkey-delete-error-${p.id}`);
  const deleteSubmit = submitButton(`passkey-delete-submit-${p.id}`, "Delete", false);
  deleteSubmit.classList.add("danger");
  // An account made by single sign-on has no password to give: the server
  // asks for a recent re-authentication instead (the prompt, if needed).
  const askPassword = m.noPassword !== true;
  const deleteForm = el(
    "form",
    { class: "passkey-delete-form", attrs: { novalidate: true } },
    askPassword ? password.root : null,
    askPassword && m.user.twoFactor ? code.root : null,
    deleteError,
    deleteSubmit,
  );
  onSubmit(deleteForm, {
    button: deleteSubmit,
    error: deleteError,
    check: () => (askPassword && password.input.value === "" ? fieldProblem(password, "Enter your password.") : true),
    run: async () => {
      await deletePasskey(p.id, password.input.value, code.input.value.trim());
      refresh();
    },
  });
  return el(
    "li",
    { class: "passkey", attrs: { "data-id": p.id } },
    el("strong", { class: "passkey-name", text: p.name }),
    el("p", { class: "hint", text: when }),
    disclosure(`passkey-rename-${p.id}-box`, "Rename", "", renameForm),
    disclosure(`passkey-delete-${p.id}-box`, "Delete", "You will no longer sign in with it. Confirm with your password.", deleteForm),
  );
}

function addForm(box: HTMLElement, m: Me, refresh: () => void): HTMLFormElement {
  const askPassword = m.noPassword !== true; // as for deleting
  const name = field({ id: "passkey-name", label: "Name", value: "Passkey", hint: "So that you can tell your passkeys apart, like “Laptop” or “Phone”.", attrs: { maxlength: 64 } });
  const password = field({ id: "passkey-password", label: "Password", type: "password", autocomplete: "current-password" });
  const code = field({ id: "passkey-code", label: "Code from your app, or a recovery code", autocomplete: "one-time-code", attrs: { spellcheck: "false" } });
  const error = errorLine("passkey-add-error");
  const submit = submitButton("passkey-add", "Add a passkey");
  const form = el(
    "form",
    { id: "passkey-add-form", attrs: { novalidate: true, "aria-labelledby": "passkey-add-title" } },
    el("h3", { id: "passkey-add-title", text: "Add a passkey" }),
    el("p", { class: "hint", text: askPassword ? "Confirm it is you with your password; then your browser asks for your device's screen lock." : "Your browser asks for your device's screen lock." }),
    name.root,
    askPassword ? password.root : null,
    askPassword && m.user.twoFactor ? code.root : null,
    error,
    submit,
  );
  onSubmit(form, {
    button: submit,
    error,
    check: () => {
      if (name.input.value.trim() === "") return fieldProblem(name, "Give it a name.");
      if (askPassword && password.input.value === "") return fieldProblem(password, "Enter your password.");
      if (askPassword && m.user.twoFactor && code.input.value.trim() === "") return fieldProblem(code, "Enter a code.");
      return true;
    },
    run: async () => {
      const added = await registerPasskey(password.input.value, code.input.value.trim(), name.input.value.trim());
      password.input.value = "";
      const next = () => (m.passkeyRequired ? location.assign("/") : refresh());
      if (added.recoveryCodes !== null && added.recoveryCodes.length > 0) {
        // The first second factor: recovery codes, shown this once.
        replace(box, el("p", { id: "passkey-added", text: `Passkey “${added.passkey.name}” added. Signing in with your password now asks for it too; keep these recovery codes for when you cannot use it.` }), recoveryCodesPanel(added.recoveryCodes, m.user.email, next));
        box.querySelector<HTMLElement>("h3")?.focus();
        return;
      }
      next();
    },
  });
  setError(error, null);
  return form;
}

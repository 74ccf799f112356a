// The account's security settings at /account: two-factor authentication
// (turn on, get new recovery codes, turn off), and signing out here or
// everywhere. An account whose organisation requires two-factor lands here
// until it has set it up. Below, the administrative actions taken on the
// account, with the reasons given.

import { deleteMyAccount, disableTwoFactor, me, regenerateRecoveryCodes, signOut, signOutEverywhere, type Me } from "../api/accounts.js";
import { getMyAudit } from "../api/audit.js";
import { asApiError } from "../api/http.js";
import { showScreen } from "../app.js";
import { openPage } from "./signedin.js";
import { enrol } from "./twofactor.js";
import { passkeysSection } from "./passkeys.js";
import { ssoLinkSection } from "./sso-link.js";
import { tokensSection } from "./tokens.js";
import { openDialog } from "../ui/dialog.js";
import { el, replace } from "../ui/dom.js";
import { disclosure, errorLine, field, fieldProblem, onSubmit, setError, submitButton, withBusy } from "../ui/forms.js";
import { myAuditSection } from "../ui/audit-log.js";
import { accountPage } from "../ui/header.js";
import { recoveryCodesPanel } from "../ui/recovery-codes-panel.js";

export async function showAccount(): Promise<void> {
  const m = await openPage("account", "Security settings — Kaigi", true, () => void showAccount());
  if (m) render(m);
}

function render(m: Me): void {
  const u = m.user;
  const twoFactorBox = el("div", { class: "section-body" });
  const body: HTMLElement[] = [el("h1", { text: "Security settings" })];
  if (m.twoFactorRequired) {
    body.push(
      el(
        "div",
        { id: "twofactor-required", class: "callout", attrs: { role: "alert" } },
        el("strong", { text: `${m.organisation.name || "Your organisation"} requires two-factor authentication.` }),
        " Set it up below to keep using your account: besides your password, signing in will ask for a code from an app on your phone.",
      ),
    );
  }
  body.push(
    el(
      "section",
      { class: "card", attrs: { "aria-labelledby": "profile-title" } },
      el("h2", { id: "profile-title", text: "Your account" }),
      el(
        "dl",
        { class: "facts" },
        el("dt", { text: "Name" }),
        el("dd", { text: u.name }),
        el("dt", { text: "E-mail" }),
        el("dd", { id: "account-email", text: u.email }),
        el("dt", { text: "Role" }),
        el(
          "dd",
          { id: "account-role" },
          u.role === "admin" ? "Administrator: you manage this server's accounts and its organisation's settings in " : "Member",
          u.role === "admin" ? el("a", { attrs: { href: "/admin" }, text: "Administration" }) : null,
          u.role === "admin" ? "." : null,
        ),
      ),
    ),
    el(
      "section",
      { id: "twofactor", class: "card", attrs: { "aria-labelledby": "twofactor-title" } },
      el(
        "h2",
        { id: "twofactor-title" },
        "Two-factor authentication ",
        el("span", { id: "twofactor-status", class: `pill ${u.twoFactor ? "on" : "off"}`, attrs: { "data-state": u.twoFactor ? "on" : "off" }, text: u.twoFactor ? "On" : "Off" }),
      ),
      twoFactorBox,
    ),
    passkeysSection(m, () => void refresh()),
    ssoLinkSection(),
    sessionsSection(),
    tokensSection("personal"),
  );
  const audit = el("div", { id: "my-audit-slot" });
  body.push(audit, dataSection(), deleteSection(m));
  showScreen(accountPage("account", m, ...body), false);
  // The actions on one's account come after the page is drawn; without
  // them the rest of the page still works.
  void getMyAudit()
    .then((entries) => replace(audit, myAuditSection(entries)))
    .catch(() => replace(audit, el("p", { class: "hint", text: "The administrative actions on your account could not be loaded." })));
  if (u.twoFactor) twoFactorOn(twoFactorBox, m);
  else twoFactorOff(twoFactorBox, m);
}

/** Reloads the account and draws the page again (after a change). */
async function refresh(): Promise<void> {
  const m = await me().catch(() => null);
  if (m === null) location.assign("/signin?next=%2Faccount");
  else render(m);
}

function twoFactorOff(box: HTMLElement, m: Me): void {
  const start = () =>
    void enrol(box, {
      account: m.user.email,
      confirmed: () => {
        const pill = document.getElementById("twofactor-status");
        if (pill) {
          pill.textContent = "On";
          pill.dataset.state = "on";
          pill.className = "pill on";
        }
      },
      // Opened by the person: go on to the code. Required on arrival: the explanation comes first.
      focus: !m.twoFactorRequired,
      done: () => (m.twoFactorRequired ? location.assign("/") : void refresh()),
      cancel: m.twoFactorRequired ? null : () => twoFactorOff(box, m),
    });
  if (m.twoFactorRequired) {
    start();
    return;
  }
  replace(
    box,
    el("p", { text: "Protect your account with a second step at sign-in: a 6-digit code from an authenticator app on your phone. Someone who learns your password still cannot sign in." }),
    el("button", { id: "twofactor-begin", class: "button primary", text: "Turn on two-factor authentication", attrs: { type: "button" }, on: { click: start } }),
  );
}

function twoFactorOn(box: HTMLElement, m: Me): void {
  const left = m.user.recoveryCodesLeft ?? 0;
  const leftLine = el("p", {
    id: "recovery-left",
    class: left <= 3 ? "warning" : "",
    attrs: { "data-count": left },
    text: left === 1 ? "1 recovery code left." : `${left} recovery codes left.`,
  });
  if (left <= 3) leftLine.append(" Get new ones soon.");

  const regenerate = reauthForm("regenerate", "Get new codes", false, async (password, code) => {
    const codes = await regenerateRecoveryCodes(password, code);
    replace(box, recoveryCodesPanel(codes, m.user.email, () => void refresh()));
    box.querySelector<HTMLElement>("h3")?.focus();
  });
  const parts: HTMLElement[] = [
    el("p", { text: "Signing in asks for a code from your authenticator app, or one of your recovery codes." }),
    leftLine,
    disclosure("regenerate", "Get new recovery codes", "Your old recovery codes stop working. Confirm with your password and a current code.", regenerate),
  ];
  if (m.organisation.require2FA) {
    parts.push(el("p", { class: "hint", text: "Your organisation requires two-factor authentication, so it cannot be turned off." }));
  } else {
    const disable = reauthForm("disable", "Turn off", true, async (password, code) => {
      await disableTwoFactor(password, code);
      await refresh();
    });
    parts.push(
      disclosure("disable", "Turn off two-factor authentication", "Your account will be protected by your password alone. Confirm with your password and a current code.", disable),
    );
  }
  replace(box, ...parts);
}

/** A form asking for the password and (with two-factor on) a current code again, as the server does for sensitive changes. */
function reauthForm(prefix: string, label: string, danger: boolean, run: (password: string, code: string) => Promise<void>, withCode = true): HTMLFormElement {
  const password = field({ id: `${prefix}-password`, label: "Password", type: "password", autocomplete: "current-password" });
  const code = field({ id: `${prefix}-code`, label: "Code from your app, or a recovery code", autocomplete: "one-time-code", attrs: { spellcheck: "false" } });
  const error = errorLine(`${prefix}-error`);
  const submit = submitButton(`${prefix}-submit`, label, !danger);
  if (danger) submit.classList.add("danger");
  const form = el("form", { id: `${prefix}-form`, attrs: { novalidate: true } }, password.root, withCode ? code.root : null, error, submit);
  onSubmit(form, {
    button: submit,
    error,
    check: () => {
      if (password.input.value === "") return fieldProblem(password, "Enter your password.");
      if (withCode && code.input.value.trim() === "") return fieldProblem(code, "Enter a code.");
      return true;
    },
    run: () => run(password.input.value, code.input.value.trim()),
  });
  return form;
}

function sessionsSection(): HTMLElement {
  const error = errorLine("signout-error");
  // Both ways out end on the sign-in page, or say why they could not.
  const leaveWith = (button: HTMLButtonElement, fn: () => Promise<void>) =>
    withBusy(button, async () => {
      try {
        await fn();
        location.assign("/signin");
      } catch (e) {
        setError(error, asApiError(e).message);
      }
    });
  const out = el("button", { id: "signout", class: "button", text: "Sign out", attrs: { type: "button" } });
  out.addEventListener("click", () => void leaveWith(out, signOut));
  const everywhere = el("button", { id: "signout-everywhere", class: "button danger", text: "Sign out everywhere", attrs: { type: "button" } });
  const section = el(
    "section",
    { id: "sessions", class: "card", attrs: { "aria-labelledby": "sessions-title" } },
    el("h2", { id: "sessions-title", text: "Sessions" }),
    el("p", { text: "Signed in somewhere you should not be, or lost a device? Signing out everywhere ends every session of your account, including this one." }),
    el("div", { class: "row" }, out, everywhere),
    error,
  );
  everywhere.addEventListener("click", async () => {
    const ok = await openDialog(section, {
      id: "confirm-signout-everywhere",
      title: "Sign out everywhere?",
      body: [el("p", { text: "Every browser and device signed in to your account is signed out, this one too." })],
      confirm: { id: "confirm-signout-everywhere-ok", label: "Sign out everywhere", danger: true },
    });
    if (ok) await leaveWith(everywhere, signOutEverywhere);
  });
  return section;
}

/** Deleting one's own account, confirmed with the password (and a code). */
function deleteSection(m: Me): HTMLElement {
  const form = reauthForm(
    "delete-account",
    "Delete my account",
    true,
    async (password, code) => {
      await deleteMyAccount(password, code);
      location.assign("/");
    },
    m.user.twoFactor,
  );
  return el(
    "section",
    { id: "delete-account-card", class: "card", attrs: { "aria-labelledby": "delete-account-title" } },
    el("h2", { id: "delete-account-title", text: "Delete your account" }),
    disclosure(
      "delete-account",
      "Delete your account and everything it holds",
      "Your account, its sessions and its meetings are deleted for good; you are taken out of any meeting at once. The audit log keeps that it happened, not your name or e-mail.",
      form,
    ),
  );
}

/** Downloading everything Kaigi holds about one's account. */
function dataSection(): HTMLElement {
  return el(
    "section",
    { id: "your-data", class: "card", attrs: { "aria-labelledby": "your-data-title" } },
    el("h2", { id: "your-data-title", text: "Your data" }),
    el("p", { text: "Download everything this server holds about your account as a JSON file: your account, your sessions, your meetings and the administrative actions on them. It holds nothing of anyone else's; the file says what is left out and why." }),
    el("a", { id: "export-data", class: "button", text: "Download my data", attrs: { href: "/api/me/export", download: "kaigi-export.json" } }),
  );
}


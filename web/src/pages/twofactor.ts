// Turning on two-factor authentication: the QR code the server drew (and the
// secret, for typing in by hand), a code from the app to prove it works, then
// the recovery codes, shown once.

import { beginTwoFactor, confirmTwoFactor, type Enrollment } from "../api/accounts.js";
import { asApiError } from "../api/http.js";
import { copyText } from "../lib/clipboard.js";
import { el, replace } from "../ui/dom.js";
import { errorLine, field, fieldProblem, onSubmit, submitButton } from "../ui/forms.js";
import { recoveryCodesPanel } from "../ui/recovery-codes-panel.js";

/** "JBSWY3DPEHPK3PXP" → "JBSW Y3DP EHPK 3PXP": easier to read and type. */
export function groupSecret(secret: string): string {
  return secret.replace(/\s+/g, "").replace(/(.{4})(?=.)/g, "$1 ");
}

export interface EnrolmentOptions {
  account: string;
  /** Two-factor is on (the recovery codes are showing). */
  confirmed: () => void;
  /** Move focus to the code field once the QR code shows (not when the page just opened on an explanation). */
  focus: boolean;
  /** Two-factor is on and the person has stored the codes. */
  done: () => void;
  /** The person gave up (only offered when the organisation does not require it). */
  cancel: (() => void) | null;
}

/** Runs the enrolment inside `box`. */
export async function enrol(box: HTMLElement, o: EnrolmentOptions): Promise<void> {
  replace(box, el("p", { class: "hint", attrs: { role: "status" }, text: "Preparing…" }));
  let e: Enrollment;
  try {
    e = await beginTwoFactor();
  } catch (err) {
    const retry = el("button", { class: "button", text: "Try again", attrs: { type: "button" }, on: { click: () => void enrol(box, o) } });
    replace(box, el("p", { class: "form-error", attrs: { role: "alert" }, text: asApiError(err).message }), retry);
    return;
  }

  const secret = el("code", { id: "twofactor-secret", class: "secret", text: groupSecret(e.secret) });
  const copied = el("span", { class: "copy-status", attrs: { "aria-live": "polite" } });
  const copy = el("button", { class: "link-button", text: "Copy key", attrs: { type: "button" } });
  copy.addEventListener("click", async () => {
    copied.textContent = (await copyText(e.secret)) ? "Key copied" : "Select the key and copy it";
  });

  const code = field({
    id: "twofactor-code",
    label: "6-digit code from the app",
    autocomplete: "one-time-code",
    attrs: { inputmode: "numeric", maxlength: 7, pattern: "[0-9 ]*", spellcheck: "false" },
  });
  const error = errorLine("twofactor-confirm-error");
  const submit = submitButton("twofactor-confirm", "Turn on");
  const form = el("form", { id: "twofactor-confirm-form", attrs: { novalidate: true } }, code.root, error, el("div", { class: "row" }, submit, cancelButton(o)));
  const typed = () => code.input.value.replace(/\s/g, "");
  onSubmit(form, {
    button: submit,
    error,
    check: () => /^\d{6}$/.test(typed()) || fieldProblem(code, "Type the 6 digits your app shows."),
    run: async () => {
      const codes = await confirmTwoFactor(typed());
      o.confirmed();
      replace(box, recoveryCodesPanel(codes, o.account, o.done));
      box.querySelector<HTMLElement>("h3")?.focus();
    },
  });

  replace(
    box,
    el(
      "ol",
      { id: "twofactor-enrol", class: "steps" },
      el(
        "li",
        {},
        el("p", { text: "Scan this QR code with an authenticator app (for example Aegis, FreeOTP, Google Authenticator or 1Password)." }),
        el("img", { id: "twofactor-qr", class: "qr", attrs: { src: e.qr, alt: "QR code for adding Kaigi to an authenticator app", width: 200, height: 200 } }),
        el("p", { class: "hint" }, "Can't scan it? Add an account by hand with this key: "),
        el("p", { class: "secret-line" }, secret, copy, copied),
      ),
      el("li", {}, el("p", { text: "Type the code the app now shows for Kaigi." }), form),
    ),
  );
  if (o.focus) code.input.focus();
}

function cancelButton(o: EnrolmentOptions): HTMLButtonElement | null {
  if (!o.cancel) return null;
  return el("button", { id: "twofactor-cancel", class: "button", text: "Cancel", attrs: { type: "button" }, on: { click: o.cancel } });
}

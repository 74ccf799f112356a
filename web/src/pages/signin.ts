// The sign-in page at /signin: e-mail and password, then, for an account
// with two-factor on, the 6-digit code from the authenticator app or one of
// the recovery codes. Afterwards the person goes back where `?next=` says.

import { me, signIn, signInCode } from "../api/accounts.js";
import { passkeysSupported, secondFactorWithPasskey, signInWithPasskey } from "../api/passkeys.js";
import { getSSOButton, ssoProblem, type SSOButton } from "../api/sso.js";
import { ssoSignInLink } from "./sso.js";
import { ApiError, asApiError } from "../api/http.js";
import { setState, showScreen } from "../app.js";
import { nextFromQuery } from "../lib/navigation.js";
import { el, replace } from "../ui/dom.js";
import { errorLine, field, fieldProblem, onSubmit, setError, submitButton, withBusy } from "../ui/forms.js";
import { brandPage } from "../ui/screens.js";

export async function showSignIn(): Promise<void> {
  setState("signin");
  document.title = "Sign in — Kaigi";
  const next = nextFromQuery(location.search);
  // Someone already signed in has nothing to do here.
  const current = await me().catch(() => null);
  if (current !== null) {
    location.replace(current.twoFactorRequired || current.passkeyRequired ? "/account" : next);
    return;
  }
  // The organisation's single sign-on, if any (sso.ts); a failure to ask
  // leaves the password form alone.
  const sso = await getSSOButton().catch(() => null);
  new SignIn(next, sso).show();
}

class SignIn {
  private readonly card: HTMLElement;

  constructor(
    private readonly next: string,
    private readonly sso: SSOButton | null = null,
  ) {
    this.card = el("section", { class: "auth-card" });
  }

  show(): void {
    showScreen(authPage("signin", this.card), false);
    this.passwordStep(null);
  }

  private passwordStep(problem: string | null, email = ""): void {
    const emailField = field({ id: "email", label: "E-mail", type: "email", autocomplete: "username", value: email, required: true });
    const password = field({ id: "password", label: "Password", type: "password", autocomplete: "current-password", required: true });
    const error = errorLine("signin-error");
    const submit = submitButton("signin-submit", "Sign in");
    const form = el("form", { id: "signin-form", attrs: { novalidate: true, "aria-labelledby": "signin-title" } }, emailField.root, password.root, error, submit);
    onSubmit(form, {
      button: submit,
      error,
      check: () => {
        if (emailField.input.value.trim() === "") return fieldProblem(emailField, "Enter your e-mail address.");
        if (password.input.value === "") return fieldProblem(password, "Enter your password.");
        return true;
      },
      run: async () => {
        const e = emailField.input.value.trim();
        const r = await signIn(e, password.input.value);
        if ("challenge" in r) this.codeStep(r.challenge, e, r.passkey, r.totp);
        else await this.done();
      },
    });
    replace(
      this.card,
      el("h1", { id: "signin-title", text: "Sign in" }),
      el("p", { class: "lead small", text: "Sign in to start and manage meetings. You can join a meeting without an account." }),
      ssoSignInLink(this.sso),
      form,
      this.passkeyButton("passkey-signin", "Sign in with a passkey", error, () => signInWithPasskey()),
      el("p", { class: "auth-alt" }, "No account yet? ", el("a", { attrs: { href: "/signup" }, text: "Create one" })),
    );
    // Back from the provider with a failure: its sentence (sso.ts).
    setError(error, problem ?? ssoProblem(location.search));
    (email === "" ? emailField.input : password.input).focus();
  }

  /** A button that runs a passkey ceremony and signs in, or nothing where the browser has no passkeys. */
  private passkeyButton(id: string, label: string, error: HTMLElement, run: () => Promise<unknown>): HTMLElement | null {
    if (!passkeysSupported()) return null;
    const button = el("button", { id, class: "button", text: label, attrs: { type: "button" } });
    button.addEventListener("click", () =>
      void withBusy(button, async () => {
        setError(error, null);
        try {
          await run();
        } catch (e) {
          setError(error, asApiError(e).message);
          return;
        }
        await this.done();
      }),
    );
    return el("p", { class: "auth-alt" }, button);
  }

  private codeStep(challenge: string, email: string, passkey = false, hasTOTP = true): void {
    // Without an authenticator app, the code is a recovery code.
    let recovery = !hasTOTP;
    const totp = field({
      id: "totp-code",
      label: "6-digit code",
      autocomplete: "one-time-code",
      hint: "Open your authenticator app and type the code it shows for Kaigi.",
      attrs: { inputmode: "numeric", maxlength: 7, pattern: "[0-9 ]*", spellcheck: "false" },
    });
    const recoveryField = field({
      id: "recovery-code",
      label: "Recovery code",
      hint: "One of the codes you saved when you turned on two-factor authentication, like abcde-fghij. Each works once.",
      attrs: { spellcheck: "false", autocapitalize: "off", maxlength: 32 },
    });
    recoveryField.root.hidden = !recovery;
    totp.root.hidden = recovery;
    const error = errorLine("code-error");
    const submit = submitButton("code-submit", "Verify");
    const toggle = el("button", { id: "use-recovery", class: "link-button", text: "Use a recovery code instead", attrs: { type: "button" } });
    toggle.addEventListener("click", () => {
      recovery = !recovery;
      totp.root.hidden = recovery;
      recoveryField.root.hidden = !recovery;
      toggle.textContent = recovery ? "Use the code from your authenticator app instead" : "Use a recovery code instead";
      setError(error, null);
      (recovery ? recoveryField.input : totp.input).focus();
    });
    const form = el("form", { id: "code-form", attrs: { novalidate: true, "aria-labelledby": "code-title" } }, totp.root, recoveryField.root, error, submit);
    const active = () => (recovery ? recoveryField : totp);
    onSubmit(form, {
      button: submit,
      error,
      check: () => {
        const code = active().input.value.trim();
        if (!recovery && !/^\d{6}$/.test(code.replace(/\s/g, ""))) return fieldProblem(totp, "Type the 6 digits your app shows.");
        if (recovery && code === "") return fieldProblem(recoveryField, "Type one of your recovery codes.");
        return true;
      },
      run: async () => {
        try {
          await signInCode(challenge, active().input.value.trim());
        } catch (err) {
          if (err instanceof ApiError && err.code === "challenge_expired") {
            // Too slow or too many wrong codes: the password step again.
            this.passwordStep(err.message, email);
            return;
          }
          active().input.select();
          throw err;
        }
        await this.done();
      },
    });
    const startOver = el("button", { class: "link-button", text: "Sign in with another account", attrs: { type: "button" }, on: { click: () => this.passwordStep(null) } });
    const withPasskey = passkey
      ? this.passkeyButton("passkey-second", "Use your passkey", error, async () => {
          try {
            await secondFactorWithPasskey(challenge);
          } catch (err) {
            if (err instanceof ApiError && err.code === "challenge_expired") this.passwordStep(err.message, email);
            throw err;
          }
        })
      : null;
    replace(
      this.card,
      el("h1", { id: "code-title", text: "Two-step verification" }),
      el("p", { class: "lead small" }, "Signing in as ", el("strong", { text: email }), "."),
      withPasskey,
      withPasskey ? el("p", { class: "hint", text: hasTOTP ? "Or type a code:" : "Without your passkey, type one of your recovery codes:" }) : null,
      form,
      hasTOTP ? el("p", { class: "auth-alt" }, toggle) : null,
      el("p", { class: "auth-alt" }, startOver),
    );
    const first = withPasskey?.querySelector("button") ?? (recovery ? recoveryField.input : totp.input);
    first.focus();
  }

  private async done(): Promise<void> {
    const m = await me().catch(() => null);
    location.assign(m?.twoFactorRequired || m?.passkeyRequired ? "/account" : this.next);
  }
}

/** A narrow page for the sign-in and sign-up cards. */
export function authPage(id: string, card: HTMLElement): HTMLElement {
  return brandPage(id, "auth-page", card);
}

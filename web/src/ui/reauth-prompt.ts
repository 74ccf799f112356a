// The re-authentication prompt: when a sensitive request answers
// reauth_required (api/http.ts), a dialog asks for the password (and a
// code, for an account with an authenticator app) or a passkey; once the
// server accepts either, the request is sent again. An account made by
// single sign-on (no password its owner knows) signs in through the
// provider again instead, which leaves the page. Closing the dialog gives
// up, and the request fails with the server's sentence.

import { onReauthRequired, asApiError } from "../api/http.js";
import { passkeysSupported, reauthWithPasskey } from "../api/passkeys.js";
import { reauthWithPassword } from "../api/reauth.js";
import { getSSOButton } from "../api/sso.js";
import { openDialog } from "./dialog.js";
import { el } from "./dom.js";
import { errorLine, field, setError } from "./forms.js";

/** Installs the prompt for every API request of the page. */
export function installReauthPrompt(): void {
  onReauthRequired(promptReauth);
}

let open: Promise<boolean> | null = null;

/** Asks until the person re-authenticates (true) or closes the dialog (false); requests made meanwhile wait for the same answer. */
function promptReauth(): Promise<boolean> {
  open ??= ask().finally(() => {
    open = null;
  });
  return open;
}

async function ask(): Promise<boolean> {
  let problem: string | null = null;
  const sso = await getSSOButton().catch(() => null);
  for (;;) {
    const password = field({ id: "reauth-password", label: "Password", type: "password", autocomplete: "current-password" });
    const code = field({ id: "reauth-code", label: "Code from your app or a recovery code (if you use one)", autocomplete: "one-time-code", hint: "Leave empty if your account has no authenticator app." });
    const error = errorLine("reauth-error");
    setError(error, problem);
    let withPasskey = false;
    const passkey = passkeysSupported()
      ? el("button", { id: "reauth-passkey", class: "button", text: "Use a passkey instead", attrs: { type: "submit", value: "passkey" }, on: { click: () => (withPasskey = true) } })
      : null;
    const ok = await openDialog(document.body, {
      id: "reauth",
      title: "Confirm it is you",
      body: [
        el("p", { text: "This change needs you to prove who you are again: it could otherwise keep someone who took over this browser's session in your account. You will not be asked again for 10 minutes." }),
        error,
        password.root,
        code.root,
        passkey,
        sso?.enabled ? el("p", {}, el("a", { id: "reauth-sso", attrs: { href: "/api/auth/oidc/start" }, text: `Or sign in again with ${sso.label.trim() === "" ? "single sign-on" : sso.label}` })) : null,
      ],
      confirm: { id: "reauth-confirm", label: "Confirm" },
      validate: () => withPasskey || password.input.value !== "",
    });
    if (!ok) return false;
    try {
      if (withPasskey) await reauthWithPasskey();
      else await reauthWithPassword(password.input.value, code.input.value.trim());
      return true;
    } catch (e) {
      problem = asApiError(e).message;
    }
  }
}

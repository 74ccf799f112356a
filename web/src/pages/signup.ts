// The sign-up page at /signup. The first account on a server becomes its
// administrator; after that the organisation decides whether anyone may sign
// up, and the server says so when they may not.

import { me, signUp } from "../api/accounts.js";
import { setState, showScreen } from "../app.js";
import { nextFromQuery } from "../lib/navigation.js";
import { noteNewAdmin } from "../lib/storage.js";
import { authPage } from "./signin.js";
import { el } from "../ui/dom.js";
import { accountFields, checkAll, errorLine, field, onSubmit, submitButton } from "../ui/forms.js";

const PASSWORD_MIN = 10;

export async function showSignUp(): Promise<void> {
  setState("signup");
  document.title = "Create an account — Kaigi";
  const next = nextFromQuery(location.search);
  // Someone signed in already has an account.
  if ((await me().catch(() => null)) !== null) {
    location.replace(next);
    return;
  }
  const name = field({ id: "name", label: "Your name", autocomplete: "name", hint: "Shown to others in meetings.", required: true, attrs: { maxlength: 64 } });
  const email = field({ id: "email", label: "E-mail", type: "email", autocomplete: "username", required: true });
  const password = field({
    id: "password",
    label: "Password",
    type: "password",
    autocomplete: "new-password",
    hint: `At least ${PASSWORD_MIN} characters. A few unrelated words make a strong one.`,
    required: true,
    attrs: { minlength: PASSWORD_MIN },
  });
  const error = errorLine("signup-error");
  const submit = submitButton("signup-submit", "Create account");
  const form = el("form", { id: "signup-form", attrs: { novalidate: true, "aria-labelledby": "signup-title" } }, name.root, email.root, password.root, error, submit);
  onSubmit(form, {
    button: submit,
    error,
    fields: accountFields(email, name, password),
    check: () =>
      checkAll([
        [name, name.input.value.trim() === "" ? "Enter your name." : null],
        [email, /^[^\s@]+@[^\s@]+$/.test(email.input.value.trim()) ? null : "Enter an e-mail address, like ada@example.org."],
        [password, [...password.input.value].length < PASSWORD_MIN ? `Choose a password of at least ${PASSWORD_MIN} characters.` : null],
      ]),
    run: async () => {
      const user = await signUp(email.input.value.trim(), name.input.value.trim(), password.input.value);
      // The first account on a server is its administrator: the next page says so.
      if (user.role === "admin") noteNewAdmin();
      location.assign(next);
    },
  });
  const card = el(
    "section",
    { class: "auth-card" },
    el("h1", { id: "signup-title", text: "Create your account" }),
    el("p", { class: "lead small", text: "An account lets you start, schedule and manage meetings." }),
    form,
    el("p", { class: "auth-alt" }, "Have an account? ", el("a", { attrs: { href: "/signin" }, text: "Sign in" })),
  );
  showScreen(authPage("signup", card), false);
  name.input.focus();
}

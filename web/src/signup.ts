// The sign-up page at /signup. The first account on a server becomes its
// administrator; after that the organisation decides whether anyone may sign
// up, and the server says so when they may not.

import { signUp } from "./api/accounts.js";
import { asApiError } from "./api/http.js";
import { setState, showScreen } from "./app.js";
import { nextFromQuery } from "./navigation.js";
import { authPage } from "./signin.js";
import { el } from "./ui/dom.js";
import { errorLine, field, setError, submitButton, withBusy, type Field } from "./ui/forms.js";

const PASSWORD_MIN = 10;

export function showSignUp(): void {
  setState("signup");
  document.title = "Create an account — Kaigi";
  const next = nextFromQuery(location.search);
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
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const problems: [Field, string | null][] = [
      [name, name.input.value.trim() === "" ? "Enter your name." : null],
      [email, /^[^\s@]+@[^\s@]+$/.test(email.input.value.trim()) ? null : "Enter an e-mail address, like ada@example.org."],
      [password, [...password.input.value].length < PASSWORD_MIN ? `Choose a password of at least ${PASSWORD_MIN} characters.` : null],
    ];
    let first: Field | null = null;
    for (const [f, p] of problems) {
      f.setError(p);
      if (p !== null && first === null) first = f;
    }
    if (first) {
      first.input.focus();
      return;
    }
    setError(error, null);
    void withBusy(submit, async () => {
      try {
        await signUp(email.input.value.trim(), name.input.value.trim(), password.input.value);
        location.assign(next);
      } catch (err) {
        const e = asApiError(err);
        error.dataset.code = e.code;
        if (e.code === "bad_email") email.setError(e.message);
        else if (e.code === "weak_password") password.setError(e.message);
        else if (e.code === "bad_name") name.setError(e.message);
        else setError(error, e.message);
      }
    });
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

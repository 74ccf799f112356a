// Form pieces shared by the account, home, schedule and admin screens: a
// labelled field with its hint and error wired up for screen readers, an
// error line, and a button that shows it is busy while a request runs.

import { asApiError } from "../api/http.js";
import { el, show } from "./dom.js";

export interface FieldOptions {
  id: string;
  label: string;
  type?: "text" | "email" | "password" | "number" | "date" | "time" | "search";
  autocomplete?: string;
  hint?: string;
  value?: string;
  required?: boolean;
  attrs?: Record<string, string | number | boolean | null | undefined>;
}

export interface Field {
  root: HTMLDivElement;
  input: HTMLInputElement;
  error: HTMLParagraphElement;
  /** Shows (or with null clears) a problem with this field, and marks it invalid. */
  setError(message: string | null): void;
}

export function field(o: FieldOptions): Field {
  const hintId = `${o.id}-hint`;
  const errorId = `${o.id}-error`;
  const input = el("input", {
    id: o.id,
    attrs: {
      type: o.type ?? "text",
      name: o.id,
      autocomplete: o.autocomplete ?? "off",
      required: o.required ?? false,
      "aria-describedby": [o.hint ? hintId : "", errorId].filter((x) => x !== "").join(" "),
      ...o.attrs,
    },
  });
  if (o.value !== undefined) input.value = o.value;
  const error = errorLine(errorId);
  const f: Field = {
    root: el(
      "div",
      { class: "field" },
      el("label", { attrs: { for: o.id }, text: o.label }),
      input,
      o.hint ? el("p", { id: hintId, class: "hint field-hint", text: o.hint }) : null,
      error,
    ),
    input,
    error,
    setError(message) {
      setError(error, message);
      if (message === null) input.removeAttribute("aria-invalid");
      else input.setAttribute("aria-invalid", "true");
    },
  };
  input.addEventListener("input", () => f.setError(null));
  return f;
}

/** A hidden error line that is announced when it appears. */
export function errorLine(id: string): HTMLParagraphElement {
  const p = el("p", { id, class: "form-error", attrs: { role: "alert" } });
  show(p, false);
  return p;
}

export function setError(line: HTMLElement, message: string | null): void {
  line.textContent = message ?? "";
  show(line, message !== null);
}

/** A status line for good news ("Saved"), announced politely. */
export function statusLine(id: string): HTMLParagraphElement {
  return el("p", { id, class: "form-status", attrs: { role: "status", "aria-live": "polite" } });
}

export function checkbox(id: string, label: string, hint?: string): { root: HTMLDivElement; input: HTMLInputElement } {
  const hintId = `${id}-hint`;
  const input = el("input", { id, attrs: { type: "checkbox", name: id, "aria-describedby": hint ? hintId : null } });
  return {
    root: el(
      "div",
      { class: "check-field" },
      input,
      el("label", { attrs: { for: id } }, el("span", { text: label }), hint ? el("span", { id: hintId, class: "hint", text: hint }) : null),
    ),
    input,
  };
}

export function selectField(id: string, label: string, options: readonly (readonly [value: string, label: string])[]): { root: HTMLDivElement; select: HTMLSelectElement } {
  const select = el("select", { id, attrs: { name: id } }, ...options.map(([value, text]) => el("option", { text, props: { value } })));
  return { root: el("div", { class: "field" }, el("label", { attrs: { for: id }, text: label }), select), select };
}

/**
 * Runs `fn` with the button disabled and marked busy, so a double click
 * sends one request and a screen reader hears that something is happening.
 */
export async function withBusy<T>(button: HTMLButtonElement, fn: () => Promise<T>): Promise<T> {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await fn();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

export interface SubmitOptions {
  button: HTMLButtonElement;
  /** The form's error line. */
  error: HTMLElement;
  /** Checks the fields, showing their problems; false stops the submit. */
  check?: () => boolean;
  /** Does the work; an ApiError it throws is shown. */
  run: () => Promise<void>;
  /** Where the server's error codes go, e.g. { weak_password: passwordField }; others go to the error line. */
  fields?: Partial<Record<string, Field>>;
  /** What to say when the error is not the server's. */
  fallback?: string;
  /** A status line to clear when the form is sent again. */
  status?: HTMLElement;
}

/** Wires a form's submit: check, then run with the button busy, and show what went wrong where it belongs. */
export function onSubmit(form: HTMLFormElement, o: SubmitOptions): void {
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (o.check && !o.check()) return;
    setError(o.error, null);
    if (o.status) o.status.textContent = "";
    void withBusy(o.button, async () => {
      try {
        await o.run();
      } catch (e) {
        const err = asApiError(e, o.fallback);
        o.error.dataset.code = err.code;
        const f = o.fields?.[err.code];
        if (f) {
          f.setError(err.message);
          f.input.focus();
        } else {
          setError(o.error, err.message);
        }
      }
    });
  });
}

/** Where the account errors of docs/api.md belong. */
export function accountFields(email: Field, name: Field, password: Field): Partial<Record<string, Field>> {
  return { bad_email: email, email_taken: email, bad_name: name, weak_password: password };
}

/** Shows every field's problem (or clears it) and focuses the first; true when there are none. */
export function checkAll(checks: readonly (readonly [Field, string | null])[]): boolean {
  let first: Field | null = null;
  for (const [f, problem] of checks) {
    f.setError(problem);
    if (problem !== null) first ??= f;
  }
  first?.input.focus();
  return first === null;
}

/** Shows a field's problem and focuses it; returns false, for a check that failed. */
export function fieldProblem(f: Field, message: string): false {
  f.setError(message);
  f.input.focus();
  return false;
}

/** A closed <details> section: a summary to open it, a hint, then its content. */
export function disclosure(id: string, summary: string, hint: string, content: HTMLElement): HTMLDetailsElement {
  return el("details", { id, class: "disclosure" }, el("summary", { text: summary }), el("p", { class: "hint", text: hint }), content);
}

export function submitButton(id: string, label: string, primary = true): HTMLButtonElement {
  return el("button", { id, class: primary ? "button primary" : "button", text: label, attrs: { type: "submit" } });
}

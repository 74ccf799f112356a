// Modal dialogs on the native <dialog> element: it traps focus, closes on
// Escape and hides the rest of the page from screen readers. A dialog lives
// inside the screen that opened it, so it goes away with that screen.

import { el, type Child } from "./dom.js";

export interface DialogOptions {
  id: string;
  title: string;
  /** What the dialog says and asks, above its buttons. */
  body: Child[];
  /** The confirming button: its id, label, and whether it is destructive. */
  confirm: { id: string; label: string; danger?: boolean };
  /** The cancelling button's label; null: none (a dialog whose choices apply at once). */
  cancelLabel?: string | null;
  /** Checks the form before it closes; return false to keep it open. */
  validate?: () => boolean;
}

/**
 * Shows a modal dialog in `host` and resolves true if the person confirmed,
 * false if they cancelled (button, Escape, or the screen going away).
 */
export function openDialog(host: HTMLElement, o: DialogOptions): Promise<boolean> {
  const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  const titleId = `${o.id}-title`;
  const confirm = el("button", {
    id: o.confirm.id,
    class: o.confirm.danger ? "button danger" : "button primary",
    text: o.confirm.label,
    attrs: { type: "submit", value: "confirm" },
  });
  const cancel = el("button", { class: "button", text: o.cancelLabel ?? "Cancel", attrs: { type: "button", value: "cancel" } });
  const form = el(
    "form",
    { attrs: { method: "dialog", novalidate: true } },
    el("h2", { id: titleId, text: o.title }),
    ...o.body,
    el("div", { class: "dialog-actions" }, o.cancelLabel === null ? null : cancel, confirm),
  );
  const dialog = el("dialog", { id: o.id, class: "dialog", attrs: { "aria-labelledby": titleId } }, form);
  host.querySelector(`#${CSS.escape(o.id)}`)?.remove();
  host.appendChild(dialog);
  return new Promise<boolean>((resolve) => {
    let result = false;
    form.addEventListener("submit", (ev) => {
      if (o.validate && !o.validate()) {
        ev.preventDefault();
        return;
      }
      result = true;
    });
    cancel.addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => {
      dialog.remove();
      if (opener?.isConnected) opener.focus();
      resolve(result);
    });
    dialog.showModal();
  });
}

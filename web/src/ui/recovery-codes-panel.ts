// Showing recovery codes, once: the list, copy and download, and the person's
// word that they stored them before the codes disappear.

import { copyText } from "../lib/clipboard.js";
import { recoveryCodesFileName, recoveryCodesText } from "../lib/recovery-codes-file.js";
import { el } from "./dom.js";
import { checkbox } from "./forms.js";

export function recoveryCodesPanel(codes: readonly string[], account: string, onDone: () => void): HTMLElement {
  const text = recoveryCodesText(codes, account, location.host, new Date());
  const status = el("span", { class: "copy-status", attrs: { "aria-live": "polite" } });
  const copy = el("button", { id: "copy-codes", class: "button", text: "Copy", attrs: { type: "button" } });
  copy.addEventListener("click", async () => {
    status.textContent = (await copyText(codes.join("\n"))) ? "Codes copied" : "Select the codes and copy them";
  });
  const download = el("button", { id: "download-codes", class: "button", text: "Download as text", attrs: { type: "button" } });
  download.addEventListener("click", () => {
    const url = URL.createObjectURL(new Blob([text], { type: "text/plain;charset=utf-8" }));
    const a = el("a", { attrs: { href: url, download: recoveryCodesFileName(location.host) } });
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    status.textContent = "Codes downloaded";
  });
  const saved = checkbox("codes-saved", "I have stored these codes somewhere safe");
  const done = el("button", { id: "codes-done", class: "button primary", text: "Done", attrs: { type: "button", disabled: true } });
  saved.input.addEventListener("change", () => (done.disabled = !saved.input.checked));
  done.addEventListener("click", onDone);
  const panel = el(
    "section",
    { id: "recovery-codes", class: "recovery-codes", attrs: { "aria-labelledby": "recovery-codes-title" } },
    el("h3", { id: "recovery-codes-title", text: "Save your recovery codes" }),
    el("p", {
      class: "warning",
      text: "If you lose your phone, each of these codes signs you in once. This is the only time they are shown: store them now, for example in a password manager.",
    }),
    el("ol", { class: "codes", attrs: { "aria-label": "Recovery codes" } }, ...codes.map((c) => el("li", { text: c }))),
    el("div", { class: "row" }, copy, download, status),
    saved.root,
    done,
  );
  return panel;
}

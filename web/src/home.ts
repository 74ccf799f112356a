// The home screen: start a new meeting and share its link, or join one by
// link or ID.

import { ApiError, createMeeting } from "./api.js";
import { setState, showScreen } from "./app.js";
import { copyText } from "./clipboard.js";
import { meetingIdFromInput } from "./meetingid.js";
import { el, show } from "./ui/dom.js";
import { icon } from "./ui/icons.js";
import { brand } from "./ui/screens.js";

export function showHome(): void {
  setState("home");
  document.title = "Kaigi";

  const status = el("p", { id: "home-error", class: "form-error", attrs: { role: "alert" } });
  show(status, false);

  const link = el("a", { id: "meeting-link", class: "meeting-link" });
  const copied = el("span", { class: "copy-status", attrs: { "aria-live": "polite" } });
  const copyButton = el(
    "button",
    { id: "copy-link", class: "button", attrs: { type: "button" } },
    icon("copy"),
    el("span", { text: "Copy link" }),
  );
  const joinCreated = el("button", { id: "join-created", class: "button primary", text: "Join now", attrs: { type: "button" } });
  const created = el(
    "section",
    { id: "created", class: "created-card", attrs: { "aria-labelledby": "created-title" } },
    el("h2", { id: "created-title", text: "Your meeting is ready" }),
    el("p", { class: "hint", text: "Share this link with the people you want to meet. Anyone with the link can join." }),
    link,
    el("div", { class: "row" }, copyButton, joinCreated, copied),
  );
  show(created, false);

  const newButton = el(
    "button",
    { id: "new-meeting", class: "button primary large", attrs: { type: "button" } },
    icon("plus"),
    el("span", { text: "New meeting" }),
  );
  newButton.addEventListener("click", async () => {
    newButton.disabled = true;
    newButton.setAttribute("aria-busy", "true");
    show(status, false);
    try {
      const m = await createMeeting();
      link.href = m.url;
      link.textContent = m.url;
      joinCreated.onclick = () => location.assign(m.url);
      copied.textContent = "";
      show(created, true);
      joinCreated.focus();
    } catch (e) {
      status.textContent = e instanceof ApiError ? e.message : "The meeting could not be created.";
      show(status, true);
    } finally {
      newButton.disabled = false;
      newButton.removeAttribute("aria-busy");
    }
  });

  copyButton.addEventListener("click", async () => {
    copied.textContent = (await copyText(link.textContent ?? "")) ? "Link copied" : "Select the link and copy it";
  });

  const joinInput = el("input", {
    id: "join-id",
    attrs: {
      type: "text",
      name: "meeting",
      autocomplete: "off",
      autocapitalize: "off",
      spellcheck: "false",
      placeholder: "e.g. 7k3m-q9xd-2hfa-b8rn",
      "aria-describedby": "join-id-error",
    },
  });
  const joinError = el("p", { id: "join-id-error", class: "form-error", attrs: { role: "alert" } });
  show(joinError, false);
  const form = el(
    "form",
    { id: "join-form", class: "join-form", attrs: { novalidate: true } },
    el("label", { attrs: { for: "join-id" }, text: "Join with a link or ID" }),
    el(
      "div",
      { class: "row" },
      joinInput,
      el("button", { id: "join-id-go", class: "button", text: "Join", attrs: { type: "submit" } }),
    ),
    joinError,
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const id = meetingIdFromInput(joinInput.value);
    if (id === null) {
      joinError.textContent = "That is not a meeting link or ID. A meeting ID looks like 7k3m-q9xd-2hfa-b8rn.";
      show(joinError, true);
      joinInput.setAttribute("aria-invalid", "true");
      joinInput.focus();
      return;
    }
    show(joinError, false);
    joinInput.removeAttribute("aria-invalid");
    location.assign(`/m/${id}`);
  });
  joinInput.addEventListener("input", () => {
    show(joinError, false);
    joinInput.removeAttribute("aria-invalid");
  });

  const page = el(
    "main",
    { id: "home", class: "page home" },
    el("header", { class: "page-header" }, brand()),
    el(
      "section",
      { class: "hero" },
      el("h1", { text: "Video meetings you can trust" }),
      el("p", { class: "lead", text: "Meet from your browser. Nothing to install, no account needed." }),
      el("div", { class: "hero-actions" }, newButton),
      status,
      created,
      el("hr", { class: "divider" }),
      form,
    ),
  );
  showScreen(page, false);
}

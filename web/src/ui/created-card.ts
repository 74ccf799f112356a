// "Your meeting is ready": the invite link (with the passcode and whether
// the meeting is end-to-end encrypted in it), the passcode on its own for
// people who type it, and a button to start.

import type { Meeting } from "../api/meetings.js";
import { copyText } from "../lib/clipboard.js";
import { formatWhen } from "../lib/datetime.js";
import { meetingInviteLink, meetingStartLink } from "../lib/invite.js";
import { el } from "./dom.js";
import { icon } from "./icons.js";

export function createdCard(m: Meeting, heading: string): HTMLElement {
  const invite = meetingInviteLink(m);
  const copied = el("span", { class: "copy-status", attrs: { "aria-live": "polite" } });
  const copy = el("button", { id: "copy-link", class: "button", attrs: { type: "button" } }, icon("copy"), el("span", { text: "Copy invite link" }));
  copy.addEventListener("click", async () => {
    copied.textContent = (await copyText(invite)) ? "Invite link copied" : "Select the link and copy it";
  });
  const start = el("a", { id: "start-meeting", class: "button primary", attrs: { href: meetingStartLink(m) }, text: "Start meeting" });
  const card = el(
    "section",
    { id: "created", class: "created-card", attrs: { "aria-labelledby": "created-title", "data-meeting": m.id } },
    el("h2", { id: "created-title", text: heading }),
    m.title ? el("p", { class: "meeting-title-line", text: m.title }) : null,
    m.startsAt ? el("p", { class: "created-when", text: formatWhen(m.startsAt) + (m.durationMinutes ? ` · ${m.durationMinutes} min` : "") }) : null,
    el(
      "p",
      { class: "hint", text: m.passcode ? "Share the invite link: it carries the passcode, so people who have it join without typing it." : "Share the invite link with the people you want to meet." },
    ),
    el("a", { id: "meeting-link", class: "meeting-link", attrs: { href: invite }, text: invite }),
    m.passcode
      ? el("p", { class: "passcode-line" }, "Passcode: ", el("span", { id: "meeting-passcode", class: "meeting-id", text: m.passcode }))
      : null,
    el("div", { class: "row" }, start, copy, copied),
  );
  return card;
}

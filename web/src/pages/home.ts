// The home screen at /. Signed out: sign in, create an account, or join a
// meeting by link or ID. Signed in: start a meeting at once (with its options
// a click away), schedule one, and the account's meetings.

import type { Me } from "../api/accounts.js";
import { asApiError } from "../api/http.js";
import { createMeeting, type MeetingRequest } from "../api/meetings.js";
import { showScreen } from "../app.js";
import { inviteFragmentOf } from "../lib/invite.js";
import { meetingIdFromInput } from "../lib/meetingid.js";
import { MeetingsList } from "./meetings-list.js";
import { PRODUCT_DEFAULTS } from "../meeting/settings.js";
import { rememberE2ee, takeNewAdmin } from "../lib/storage.js";
import { openPage } from "./signedin.js";
import { createdCard } from "../ui/created-card.js";
import { el, replace, show } from "../ui/dom.js";
import { disclosure, errorLine, setError, withBusy } from "../ui/forms.js";
import { accountPage } from "../ui/header.js";
import { icon } from "../ui/icons.js";
import { brandPage } from "../ui/screens.js";
import { SettingsForm } from "../ui/meeting-settings-form.js";

export async function showHome(): Promise<void> {
  const me = await openPage("home", "Kaigi", false, () => void showHome());
  if (me === null) signedOut();
  else if (me) signedIn(me);
}

function signedOut(): void {
  const page = brandPage(
    "home",
    "home",
    el(
      "section",
      { class: "hero" },
      el("h1", { text: "Video meetings you can trust" }),
      el("p", { class: "lead", text: "Meet from your browser, with nothing to install. Joining needs no account; starting a meeting does." }),
      el(
        "div",
        { class: "hero-actions" },
        el("a", { id: "signin-link", class: "button primary large", attrs: { href: "/signin" }, text: "Sign in" }),
        el("a", { id: "signup-link", class: "button large", attrs: { href: "/signup" }, text: "Create account" }),
      ),
      el("hr", { class: "divider" }),
      joinForm(),
    ),
  );
  page.dataset.signedIn = "false";
  showScreen(page, false);
}

function signedIn(me: Me): void {
  const defaults = me.organisation.meetingDefaults ?? { ...PRODUCT_DEFAULTS };
  const options = new SettingsForm("new", "Settings for the new meeting");
  options.set(defaults);
  if (me.organisation.geoip) options.enableCountry("new", me.organisation.country);
  if (me.organisation.region || me.organisation.regions.length > 0) options.enableRegions("new", me.organisation.regions, me.organisation.region);
  const optionsBox = disclosure("meeting-options", "Meeting options", "Your organisation's defaults. Change them for this meeting only.", options.root);

  const error = errorLine("home-error");
  const created = el("div", { id: "created-slot" });
  const newButton = el(
    "button",
    { id: "new-meeting", class: "button primary large", attrs: { type: "button" } },
    icon("plus"),
    el("span", { text: "New meeting" }),
  );
  const list = new MeetingsList(me.organisation);
  newButton.addEventListener("click", () =>
    void withBusy(newButton, async () => {
      setError(error, null);
      if (!options.countryValid() || !options.regionsValid()) {
        optionsBox.open = true;
        return;
      }
      const req: MeetingRequest = { kind: "instant" };
      // Only settings the person changed: otherwise the server applies the
      // organisation's defaults, which may be newer than what we showed.
      if (options.changed) req.settings = options.read(defaults);
      try {
        const m = await createMeeting(req);
        if (m.e2ee) rememberE2ee(m.id);
        replace(created, createdCard(m, "Your meeting is ready"));
        optionsBox.open = false;
        created.querySelector<HTMLElement>("#start-meeting")?.focus();
        void list.load();
      } catch (e) {
        setError(error, asApiError(e, "The meeting could not be created.").message);
      }
    }),
  );

  const schedule = el("a", { id: "schedule-link", class: "button large", attrs: { href: "/schedule" } }, icon("calendar"), el("span", { text: "Schedule" }));
  const firstName = me.user.name.split(/\s+/)[0] ?? me.user.name;
  const page = accountPage(
    "home",
    me,
    takeNewAdmin() && me.user.role === "admin" ? newAdminNotice() : null,
    el(
      "section",
      { class: "home-start", attrs: { "aria-labelledby": "home-title" } },
      el("h1", { id: "home-title", text: `Hello, ${firstName}` }),
      el("p", { class: "lead small", text: "Start a meeting now, or schedule one for later." }),
      el("div", { class: "hero-actions" }, newButton, schedule),
      optionsBox,
      error,
      created,
      el("hr", { class: "divider" }),
      joinForm(),
    ),
    list.root,
  );
  page.dataset.signedIn = "true";
  showScreen(page, false);
  void list.load();
}

/** Shown once, on the first page after the sign-up that made this account the server's administrator. */
function newAdminNotice(): HTMLElement {
  return el(
    "div",
    { id: "new-admin-notice", class: "callout", attrs: { role: "status" } },
    el("strong", { text: "You are this server's administrator. " }),
    "As its first account, you manage who has an account here and the organisation's settings: meeting defaults, sign-ups, two-factor. ",
    el("a", { attrs: { href: "/admin" }, text: "Open Administration" }),
  );
}

/** "Join with a link or ID". */
function joinForm(): HTMLFormElement {
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
    el("div", { class: "row" }, joinInput, el("button", { id: "join-id-go", class: "button", text: "Join", attrs: { type: "submit" } })),
    joinError,
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const typed = joinInput.value.trim();
    const id = meetingIdFromInput(typed);
    if (id === null) {
      joinError.textContent = "That is not a meeting link or ID. A meeting ID looks like 7k3m-q9xd-2hfa-b8rn.";
      show(joinError, true);
      joinInput.setAttribute("aria-invalid", "true");
      joinInput.focus();
      return;
    }
    show(joinError, false);
    joinInput.removeAttribute("aria-invalid");
    // A pasted invite link keeps its passcode and E2EE marker (in the fragment).
    location.assign(`/m/${id}${inviteFragmentOf(typed)}`);
  });
  joinInput.addEventListener("input", () => {
    show(joinError, false);
    joinInput.removeAttribute("aria-invalid");
  });
  return form;
}

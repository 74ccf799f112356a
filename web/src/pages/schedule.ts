// Scheduling a meeting at /schedule: a title, a date and time in the
// person's own time zone (sent to the server in UTC), a duration, and the
// meeting's settings.

import { createMeeting } from "../api/meetings.js";
import { showScreen } from "../app.js";
import { localTimeZone, localToUtc, nextHalfHour, utcToLocal } from "../lib/datetime.js";
import { DURATIONS } from "./meetings-list.js";
import { PRODUCT_DEFAULTS } from "../meeting/settings.js";
import { rememberE2ee } from "../lib/storage.js";
import { openPage } from "./signedin.js";
import { createdCard } from "../ui/created-card.js";
import { el, replace } from "../ui/dom.js";
import { errorLine, field, fieldProblem, onSubmit, selectField, submitButton } from "../ui/forms.js";
import { accountPage } from "../ui/header.js";
import { SettingsForm } from "../ui/meeting-settings-form.js";

export async function showSchedule(): Promise<void> {
  const me = await openPage("schedule", "Schedule a meeting — Kaigi", true, () => void showSchedule());
  if (!me) return;

  const start = utcToLocal(nextHalfHour(new Date()).toISOString())!;
  const title = field({ id: "schedule-title", label: "Title", attrs: { maxlength: 200, placeholder: `${me.user.name}'s meeting` } });
  const date = field({ id: "schedule-date", label: "Date", type: "date", value: start.date, required: true });
  const time = field({ id: "schedule-time", label: "Start time", type: "time", value: start.time, required: true });
  const duration = selectField("schedule-duration", "Duration", DURATIONS);
  duration.select.value = "60";
  const zone = localTimeZone();
  const defaults = me.organisation.meetingDefaults ?? { ...PRODUCT_DEFAULTS };
  const settings = new SettingsForm("schedule", "Meeting settings");
  settings.set(defaults);
  if (me.organisation.geoip) settings.enableCountry("schedule", me.organisation.country);
  if (me.organisation.region || me.organisation.regions.length > 0) settings.enableRegions("schedule", me.organisation.regions, me.organisation.region);
  const error = errorLine("schedule-error");
  const submit = submitButton("schedule-submit", "Schedule");
  const result = el("div", { id: "created-slot" });

  const form = el(
    "form",
    { id: "schedule-form", class: "card", attrs: { novalidate: true, "aria-labelledby": "schedule-heading" } },
    el("h1", { id: "schedule-heading", text: "Schedule a meeting" }),
    title.root,
    el("div", { class: "field-row" }, date.root, time.root, duration.root),
    el("p", { id: "schedule-tz", class: "hint", text: zone ? `Times are in your time zone, ${zone}.` : "Times are in your computer's time zone." }),
    settings.root,
    error,
    el("div", { class: "row" }, submit, el("a", { class: "button", attrs: { href: "/" }, text: "Cancel" })),
  );
  let startsAt = "";
  onSubmit(form, {
    button: submit,
    error,
    fallback: "The meeting could not be scheduled.",
    check: () => {
      const at = localToUtc(date.input.value, time.input.value);
      if (at === null) return fieldProblem(date, "Choose a date and a start time.");
      if (Date.parse(at) < Date.now() - 60_000) return fieldProblem(time, "That time has passed. Choose a time in the future.");
      startsAt = at;
      return settings.countryValid() && settings.regionsValid();
    },
    run: async () => {
      const m = await createMeeting({
        kind: "scheduled",
        title: title.input.value.trim(),
        startsAt,
        durationMinutes: Number(duration.select.value),
        ...(settings.changed ? { settings: settings.read(defaults) } : {}),
      });
      if (m.e2ee) rememberE2ee(m.id);
      replace(result, createdCard(m, "Meeting scheduled"), el("p", {}, el("a", { attrs: { href: "/" }, text: "Back to your meetings" })));
      form.hidden = true;
      result.querySelector<HTMLElement>("h2")?.focus();
    },
  });
  showScreen(accountPage("schedule", me, form, result), false);
  title.input.focus();
}

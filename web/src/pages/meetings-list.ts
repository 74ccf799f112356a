// The account's meetings on the home screen: the personal room, scheduled
// meetings, then instant ones; each with its invite link to copy, a start
// button, its settings to edit and (but for the personal room) delete.

import type { Me } from "../api/accounts.js";
import { asApiError } from "../api/http.js";
import { deleteMeeting, listMeetings, updateMeeting, type Meeting, type MeetingRequest } from "../api/meetings.js";
import { copyText } from "../lib/clipboard.js";
import { formatWhen, localToUtc, utcToLocal } from "../lib/datetime.js";
import { meetingInviteLink, meetingStartLink } from "../lib/invite.js";
import { summary } from "../meeting/settings.js";
import { openDialog } from "../ui/dialog.js";
import { el, replace } from "../ui/dom.js";
import { checkbox, errorLine, field, selectField, setError, statusLine } from "../ui/forms.js";
import { SettingsForm } from "../ui/meeting-settings-form.js";

const KIND_LABELS = { personal: "Personal room", scheduled: "Scheduled", instant: "Instant meeting" } as const;

export const DURATIONS: readonly (readonly [string, string])[] = [
  ["15", "15 minutes"],
  ["30", "30 minutes"],
  ["45", "45 minutes"],
  ["60", "1 hour"],
  ["90", "1½ hours"],
  ["120", "2 hours"],
  ["180", "3 hours"],
  ["240", "4 hours"],
];

export class MeetingsList {
  readonly root: HTMLElement;
  private readonly list: HTMLUListElement;
  private readonly error: HTMLParagraphElement;
  private readonly status: HTMLParagraphElement;
  private meetings: Meeting[] = [];

  /** `org` is the signed-in person's organisation: whether meetings may have a country rule (a GeoIP database), and its own. */
  constructor(private readonly org?: Readonly<Me["organisation"]>) {
    this.list = el("ul", { class: "meeting-list", attrs: { "aria-busy": "true" } });
    this.error = errorLine("meetings-error");
    this.status = statusLine("meetings-status");
    this.root = el(
      "section",
      { id: "meetings", class: "card", attrs: { "aria-labelledby": "meetings-title" } },
      el("h2", { id: "meetings-title", text: "Your meetings" }),
      this.error,
      this.status,
      this.list,
    );
  }

  async load(): Promise<void> {
    try {
      this.meetings = await listMeetings();
      setError(this.error, null);
      this.render();
    } catch (e) {
      setError(this.error, asApiError(e, "Your meetings could not be loaded.").message);
    } finally {
      this.list.removeAttribute("aria-busy");
    }
  }

  private render(): void {
    replace(this.list, ...this.meetings.map((m) => this.item(m)));
  }

  private item(m: Meeting): HTMLLIElement {
    const when = m.kind === "scheduled" && m.startsAt ? formatWhen(m.startsAt) + (m.durationMinutes ? ` · ${m.durationMinutes} min` : "") : KIND_LABELS[m.kind];
    const titleId = `meeting-title-${m.id}`;
    const copy = el("button", { class: "button small", text: "Copy invite", attrs: { type: "button", "data-action": "copy-invite", "aria-describedby": titleId } });
    copy.addEventListener("click", async () => {
      this.status.textContent = (await copyText(meetingInviteLink(m))) ? `Invite link for “${m.title}” copied.` : "The browser would not copy; open the meeting and copy its address.";
    });
    const edit = el("button", { class: "button small", text: "Edit", attrs: { type: "button", "data-action": "edit", "aria-describedby": titleId } });
    edit.addEventListener("click", () => void this.edit(m));
    const del =
      m.kind === "personal"
        ? null
        : el("button", { class: "button small danger-text", text: "Delete", attrs: { type: "button", "data-action": "delete", "aria-describedby": titleId } });
    del?.addEventListener("click", () => void this.remove(m));
    return el(
      "li",
      { attrs: { "data-meeting": m.id, "data-kind": m.kind } },
      el(
        "div",
        { class: "meeting-text" },
        el("span", { id: titleId, class: "meeting-title", text: m.title || KIND_LABELS[m.kind] }),
        el("span", { class: "meeting-sub" }, el("span", { text: when }), " · ", el("span", { class: "meeting-id", text: m.id })),
        m.settings ? el("span", { class: "meeting-sub", text: summary(m.settings) }) : null,
      ),
      el(
        "div",
        { class: "meeting-actions" },
        el("a", { class: "button small primary", text: "Start", attrs: { href: meetingStartLink(m), "data-action": "start", "aria-describedby": titleId } }),
        copy,
        edit,
        del,
      ),
    );
  }

  private async edit(m: Meeting): Promise<void> {
    const title = field({ id: "edit-title", label: "Title", value: m.title, attrs: { maxlength: 200 } });
    const scheduled = m.kind === "scheduled";
    const local = m.startsAt ? utcToLocal(m.startsAt) : null;
    const date = field({ id: "edit-date", label: "Date", type: "date", value: local?.date ?? "" });
    const time = field({ id: "edit-time", label: "Time", type: "time", value: local?.time ?? "" });
    const duration = selectField("edit-duration", "Duration", DURATIONS);
    duration.select.value = String(m.durationMinutes ?? 60);
    const settings = new SettingsForm("edit", "Settings");
    if (m.settings) settings.set(m.settings);
    if (this.org?.geoip) settings.enableCountry("edit", this.org.country);
    if (this.org && (this.org.region || this.org.regions.length > 0)) settings.enableRegions("edit", this.org.regions, this.org.region);
    const newPasscode = checkbox("edit-new-passcode", "Make a new passcode", "Invite links sent before stop working.");
    const ok = await openDialog(this.root, {
      id: "edit-meeting",
      title: `Edit “${m.title}”`,
      body: [
        title.root,
        scheduled ? el("div", { class: "field-row" }, date.root, time.root, duration.root) : null,
        settings.root,
        m.settings?.passcode ? newPasscode.root : null,
      ],
      confirm: { id: "edit-meeting-save", label: "Save" },
      validate: () => {
        if (scheduled && localToUtc(date.input.value, time.input.value) === null) {
          date.setError("Choose a date and a time.");
          return false;
        }
        return settings.countryValid() && settings.regionsValid();
      },
    });
    if (!ok) return;
    const req: MeetingRequest = { title: title.input.value.trim() };
    if (scheduled) {
      const startsAt = localToUtc(date.input.value, time.input.value);
      if (startsAt !== null) req.startsAt = startsAt;
      req.durationMinutes = Number(duration.select.value);
    }
    if (m.settings && settings.changed) req.settings = settings.read(m.settings);
    if (newPasscode.input.checked) req.newPasscode = true;
    try {
      const updated = await updateMeeting(m.id, req);
      this.meetings = this.meetings.map((x) => (x.id === m.id ? updated : x));
      this.render();
      this.status.textContent = `“${updated.title}” saved.`;
    } catch (e) {
      setError(this.error, asApiError(e, "The meeting could not be saved.").message);
    }
  }

  private async remove(m: Meeting): Promise<void> {
    const ok = await openDialog(this.root, {
      id: "confirm-delete",
      title: `Delete “${m.title}”?`,
      body: [el("p", { text: "Its link and passcode stop working. This cannot be undone." })],
      confirm: { id: "confirm-delete-ok", label: "Delete", danger: true },
    });
    if (!ok) return;
    try {
      await deleteMeeting(m.id);
      this.meetings = this.meetings.filter((x) => x.id !== m.id);
      this.render();
      this.status.textContent = `“${m.title}” deleted.`;
    } catch (e) {
      setError(this.error, asApiError(e, "The meeting could not be deleted.").message);
    }
  }
}

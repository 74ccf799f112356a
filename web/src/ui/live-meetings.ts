// The admin page's "Meetings in progress": how many are in each (never
// who, never what is said), and ending, locking or unlocking one with a
// reason everyone in it is shown.

import type { LiveMeeting } from "../api/admin.js";
import { asApiError } from "../api/http.js";
import { openDialog } from "./dialog.js";
import { el, replace } from "./dom.js";
import { errorLine, setError, statusLine } from "./forms.js";

export interface LiveMeetingsHooks {
  load(): Promise<LiveMeeting[]>;
  end(id: string, reason: string): Promise<void>;
  lock(id: string, locked: boolean, reason: string): Promise<unknown>;
  /** An owner's name, when the page knows the account. */
  ownerName(id: string | undefined): string;
}

export function liveMeetingsSection(first: LiveMeeting[], hooks: LiveMeetingsHooks): HTMLElement {
  const body = el("tbody");
  const error = errorLine("live-error");
  const status = statusLine("live-status");
  const refresh = el("button", { id: "live-refresh", class: "button small", text: "Refresh", attrs: { type: "button" } });
  const root = el(
    "section",
    { id: "live-meetings", class: "card", attrs: { "aria-labelledby": "live-title" } },
    el("h2", { id: "live-title", text: "Meetings in progress" }),
    el("p", { class: "hint", text: "Only counts: who is in a meeting and what they say stay theirs. Ending, locking or unlocking a meeting you do not host is recorded in the audit log, and everyone in it, its owner included, is shown your reason. A lock keeps newcomers out (never its owner) until its host or an administrator unlocks it." }),
    el("div", { class: "table-wrap" }, el("table", { class: "table" }, el("thead", {}, el("tr", {}, ...["Meeting", "Owner", "In it", "Waiting", "Breakout rooms", ""].map((h) => el("th", { text: h, attrs: { scope: "col" } })))), body)),
    error,
    el("div", { class: "row" }, refresh, status),
  );
  const render = (meetings: LiveMeeting[]): void => {
    if (meetings.length === 0) {
      replace(body, el("tr", {}, el("td", { text: "No meeting is in progress.", attrs: { colspan: 6 } })));
      return;
    }
    replace(
      body,
      ...meetings.map((m) =>
        el(
          "tr",
          { attrs: { "data-meeting": m.id, "data-locked": String(m.locked) } },
          el("td", {}, el("strong", { text: m.title || "Untitled" }), el("br"), el("code", { text: m.id })),
          el("td", { text: hooks.ownerName(m.ownerId) }),
          el("td", { text: String(m.participants) }),
          el("td", { text: String(m.waiting) }),
          el("td", { text: String(m.breakoutRooms) }),
          el(
            "td",
            { class: "row" },
            el("button", { class: "button small", text: m.locked ? "Unlock" : "Lock", attrs: { type: "button", "data-action": m.locked ? "unlock" : "lock", "aria-label": `${m.locked ? "Unlock" : "Lock"} ${m.title || m.id}` }, on: { click: () => void lock(m) } }),
            el("button", { class: "button small danger", text: "End", attrs: { type: "button", "data-action": "end", "aria-label": `End ${m.title || m.id}` }, on: { click: () => void end(m) } }),
          ),
        ),
      ),
    );
  };
  const reload = async (): Promise<void> => {
    try {
      render(await hooks.load());
      setError(error, null);
    } catch (e) {
      setError(error, asApiError(e).message);
    }
  };
  // askReason opens a dialog for an action on a meeting that everyone in
  // it is shown with the administrator's reason; the reason, or null if
  // the administrator cancelled.
  const askReason = async (id: string, title: string, explanation: string, confirm: { label: string; danger?: boolean }): Promise<string | null> => {
    const reason = el("textarea", { id: `${id}-reason`, class: "reason", attrs: { maxlength: 500, rows: 3, required: true } });
    const problem = errorLine(`${id}-problem`);
    const ok = await openDialog(root, {
      id,
      title,
      body: [
        el("p", { text: explanation }),
        el("div", { class: "field" }, el("label", { text: "Reason (shown to them, and kept in the audit log)", attrs: { for: `${id}-reason` } }), reason),
        problem,
      ],
      confirm: { id: `${id}-confirm`, label: confirm.label, ...(confirm.danger ? { danger: true } : {}) },
      validate: () => {
        if (reason.value.trim() !== "") return true;
        setError(problem, "Give a reason: everyone in the meeting is shown it.");
        reason.focus();
        return false;
      },
    });
    return ok ? reason.value.trim() : null;
  };
  const end = async (m: LiveMeeting): Promise<void> => {
    const reason = await askReason(
      "end-meeting",
      `End "${m.title || m.id}" for everyone?`,
      `${m.participants} in the meeting and ${m.waiting} waiting are taken out at once and shown your reason.`,
      { label: "End meeting", danger: true },
    );
    if (reason === null) return;
    try {
      await hooks.end(m.id, reason);
      status.textContent = `Ended "${m.title || m.id}".`;
    } catch (e) {
      setError(error, asApiError(e).message);
    }
    await reload();
  };
  const lock = async (m: LiveMeeting): Promise<void> => {
    const locking = !m.locked;
    const reason = await askReason(
      "lock-meeting",
      `${locking ? "Lock" : "Unlock"} "${m.title || m.id}"?`,
      locking
        ? "Nobody new can join (its owner still can); those in it stay, and are shown your reason. It stays locked, even after it ends, until its host or an administrator unlocks it."
        : "People with the link can join again. Everyone in it is shown your reason.",
      { label: locking ? "Lock meeting" : "Unlock meeting" },
    );
    if (reason === null) return;
    try {
      await hooks.lock(m.id, locking, reason);
      status.textContent = `${locking ? "Locked" : "Unlocked"} "${m.title || m.id}".`;
    } catch (e) {
      setError(error, asApiError(e).message);
    }
    await reload();
  };
  refresh.addEventListener("click", () => void reload());
  render(first);
  return root;
}

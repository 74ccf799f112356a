// The organisation's retention limits on the admin page (docs/api.md,
// "Administration"): how many days old meetings, records of ended
// sessions and audit entries are kept, each with "Keep forever". Audit
// entries can never be kept fewer days than the server's legal minimum;
// the server refuses it too (bad_retention), and says why.

import type { Retention } from "../api/admin.js";
import { checkAll, checkbox, field, type Field } from "./forms.js";
import { el } from "./dom.js";

/** The longest limit that can be set (100 years); longer is "keep forever". */
export const MAX_RETENTION_DAYS = 36500;

interface Limit {
  days: Field;
  forever: { root: HTMLDivElement; input: HTMLInputElement };
}

function limit(id: string, label: string, hint: string): Limit {
  const days = field({ id: `${id}-days`, label, type: "number", hint, attrs: { min: 1, max: MAX_RETENTION_DAYS, step: 1, inputmode: "numeric" } });
  const forever = checkbox(`${id}-forever`, "Keep forever");
  forever.input.addEventListener("change", () => {
    days.input.disabled = forever.input.checked;
    if (forever.input.checked) days.setError(null);
  });
  return { days, forever };
}

/** Reads a limit: 0 for "keep forever", the whole number of days, or a problem in words. */
export function readDays(text: string, forever: boolean, min = 1): number | string {
  if (forever) return 0;
  const t = text.trim();
  if (!/^\d+$/.test(t)) return "Give a whole number of days.";
  const n = Number(t);
  if (n < min || n > MAX_RETENTION_DAYS) return `Give a number of days from ${min} to ${MAX_RETENTION_DAYS}, or keep forever.`;
  return n;
}

/** The retention fieldset of the organisation's form. */
export class RetentionFields {
  readonly root: HTMLFieldSetElement;
  private readonly meetings = limit("retention-meetings", "Delete meetings after this many days unused", "Instant and scheduled meetings nobody asked to join for this long (a scheduled one counts from its planned end). Personal rooms are kept with their account; a meeting in progress is never deleted.");
  private readonly sessions = limit("retention-sessions", "Delete records of ended sign-ins after this many days", "A browser's sign-in ends after 14 days unused or 30 days at most; its record goes this long after.");
  private readonly audit: Limit;
  private minimum = 0;

  constructor(r: Retention) {
    this.audit = limit("retention-audit", "Delete audit entries after this many days", "At least the legal minimum this server is set to.");
    this.root = el(
      "fieldset",
      { id: "retention", class: "fieldset" },
      el("legend", { text: "How long old records are kept" }),
      ...[this.meetings, this.sessions, this.audit].flatMap((l) => [l.days.root, l.forever.root]),
    );
    this.set(r);
  }

  set(r: Retention): void {
    this.minimum = r.auditMinimumDays;
    const hint = this.audit.days.root.querySelector(".hint");
    if (hint) hint.textContent = `At least ${r.auditMinimumDays} days: the legal minimum this server is set to. The log stays verifiable, and each deletion is recorded in it.`;
    this.audit.days.input.min = String(r.auditMinimumDays);
    for (const [l, days] of [[this.meetings, r.meetingDays], [this.sessions, r.expiredSessionDays], [this.audit, r.auditDays]] as const) {
      l.forever.input.checked = days === 0;
      l.days.input.disabled = days === 0;
      l.days.input.value = days === 0 ? "" : String(days);
      l.days.setError(null);
    }
  }

  /** The limits entered, or null after showing what is wrong. */
  read(): Retention | null {
    const m = readDays(this.meetings.days.input.value, this.meetings.forever.input.checked);
    const s = readDays(this.sessions.days.input.value, this.sessions.forever.input.checked);
    let a = readDays(this.audit.days.input.value, this.audit.forever.input.checked, 1);
    if (typeof a === "number" && a !== 0 && a < this.minimum) {
      a = `Audit entries must be kept at least ${this.minimum} days: the legal minimum this server is set to.`;
    }
    const problem = (v: number | string): string | null => (typeof v === "string" ? v : null);
    if (!checkAll([[this.meetings.days, problem(m)], [this.sessions.days, problem(s)], [this.audit.days, problem(a)]])) return null;
    return { meetingDays: m as number, expiredSessionDays: s as number, auditDays: a as number, auditMinimumDays: this.minimum };
  }

  /** Where the server's bad_retention goes. */
  get auditField(): Field {
    return this.audit.days;
  }
}

// Times for scheduled meetings: the form asks for a date and a time in the
// person's own time zone; the API speaks RFC 3339 in UTC. Pure apart from the
// time zone the JavaScript engine runs in, which is what these functions are for.

/** "2026-03-14" and "09:30" (what <input type=date> and <input type=time> give) in local time → "2026-03-14T08:30:00Z". */
export function localToUtc(date: string, time: string): string | null {
  const d = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  const t = /^(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(time);
  if (!d || !t) return null;
  const [y, mo, da] = [Number(d[1]), Number(d[2]), Number(d[3])];
  const [h, mi, s] = [Number(t[1]), Number(t[2]), Number(t[3] ?? "0")];
  if (mo < 1 || mo > 12 || da < 1 || da > 31 || h > 23 || mi > 59 || s > 59) return null;
  const local = new Date(y, mo - 1, da, h, mi, s);
  // new Date rolls 31 February over into March: refuse instead.
  if (local.getFullYear() !== y || local.getMonth() !== mo - 1 || local.getDate() !== da) return null;
  return rfc3339(local);
}

/** A Date as RFC 3339 in UTC without fractions: "2026-03-14T08:30:00Z". */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** An RFC 3339 time → the local date and time for the form's fields, or null if it is not a time. */
export function utcToLocal(iso: string): { date: string; time: string } | null {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return null;
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, "0");
  return {
    date: `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`,
    time: `${two(d.getHours())}:${two(d.getMinutes())}`,
  };
}

/** The next full half hour after `now`, as the schedule form's starting suggestion. */
export function nextHalfHour(now: Date): Date {
  const d = new Date(now.getTime());
  d.setSeconds(0, 0);
  d.setMinutes(d.getMinutes() < 30 ? 30 : 60);
  return d;
}

/** The person's time zone name, e.g. "Europe/Berlin", or "" if the browser will not say. */
export function localTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone ?? "";
  } catch {
    return "";
  }
}

/** "Sat 14 Mar 2026, 09:30" in the person's locale and time zone. */
export function formatWhen(iso: string, locale?: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return "";
  return new Intl.DateTimeFormat(locale, { weekday: "short", day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit" }).format(ms);
}

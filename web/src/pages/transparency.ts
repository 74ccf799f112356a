// The transparency report at /transparency (public): how often each kind
// of administrative action happened, month by month, and the legal
// requests the operator recorded, by kind and outcome — all made from the
// audit log, whose chain the server verifies as it counts. No category is
// left out, zeros included; no names, reasons or contents.

import { asApiError } from "../api/http.js";
import { getTransparency, type Transparency } from "../api/transparency.js";
import { showScreen } from "../app.js";
import { formatWhen } from "../lib/datetime.js";
import { el } from "../ui/dom.js";
import { accountPage } from "../ui/header.js";
import { fatalScreen } from "../ui/screens.js";
import { openPage } from "./signedin.js";

export async function showTransparency(): Promise<void> {
  const me = await openPage("transparency", "Transparency report · Kaigi", false, () => void showTransparency());
  if (me === undefined) return;
  let t: Transparency;
  try {
    t = await getTransparency();
  } catch (e) {
    showScreen(fatalScreen("unavailable", asApiError(e).message, [{ id: "retry", label: "Try again", run: () => void showTransparency() }]));
    return;
  }
  const page = accountPage("transparency", me, ...transparencyBody(t));
  page.dataset.loaded = "true";
  showScreen(page, false);
}

/** "2026-12" as "December 2026" in the reader's language. */
function monthName(month: string): string {
  const d = new Date(`${month}-01T00:00:00Z`);
  return Number.isNaN(d.getTime()) ? month : new Intl.DateTimeFormat(undefined, { month: "long", year: "numeric", timeZone: "UTC" }).format(d);
}

export function transparencyBody(t: Transparency): (HTMLElement | null)[] {
  const verdict = t.verified
    ? el("p", { id: "transparency-verdict", class: "callout", attrs: { "data-state": "verified" } }, `Counted from ${t.entries} audit log entries, whose hash chain verifies. Its head is `, el("code", { text: t.head ?? "" }), ": compare it with the one the organisation publishes.")
    : el("p", { id: "transparency-verdict", class: "callout danger-callout", attrs: { role: "alert", "data-state": "broken" } }, `The audit log's chain does not verify${t.brokenAt ? ` from entry ${t.brokenAt}` : ""}: it was changed outside Kaigi. The counts below are of what is stored now.`);
  const head = el("tr", {}, el("th", { text: "What", attrs: { scope: "col" } }), el("th", { text: "In total", attrs: { scope: "col" } }), ...t.months.map((m) => el("th", { text: monthName(m.month), attrs: { scope: "col" } })));
  const rows = t.categories.map((c) =>
    el(
      "tr",
      { attrs: { "data-action": c.action } },
      el("th", { text: c.description, attrs: { scope: "row" } }),
      el("td", { class: "total", text: String(c.total) }),
      ...t.months.map((m) => el("td", { text: String(m.counts[c.action] ?? 0) })),
    ),
  );
  const legal = t.months.flatMap((m) =>
    Object.entries(m.legal)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([key, n]) => {
        const [kind, outcome] = key.split("/");
        return el("tr", { attrs: { "data-legal": key } }, el("td", { text: monthName(m.month) }), el("td", { text: (kind ?? "").replace(/_/g, " ") }), el("td", { text: (outcome ?? "").replace(/_/g, " ") }), el("td", { text: String(n) }));
      }),
  );
  return [
    el("h1", { text: "Transparency report" }),
    el("p", { class: "lead small", text: `What the administrators and the operator of ${t.organisation || "this server"} did, counted from the server's tamper-evident audit log. Every kind of action it records is listed, including those that never happened. Made ${formatWhen(t.generatedAt)}.` }),
    t.first !== undefined && t.first > 1 && t.since
      ? el("p", { id: "transparency-since", class: "hint", text: `Counted from entry ${t.first} (${formatWhen(t.since)}): older entries were deleted under the organisation's retention policy, and each such deletion is counted below.` })
      : null,
    verdict,
    el("section", { class: "card" }, el("h2", { text: "Actions by month" }), el("div", { class: "table-wrap" }, el("table", { id: "transparency-actions", class: "table" }, el("thead", {}, head), el("tbody", {}, ...rows)))),
    el(
      "section",
      { class: "card" },
      el("h2", { text: "Legal requests" }),
      legal.length === 0
        ? el("p", { id: "transparency-no-legal", text: "The operator has recorded no legal request." })
        : el("div", { class: "table-wrap" }, el("table", { id: "transparency-legal", class: "table" }, el("thead", {}, el("tr", {}, ...["Month", "Asking for", "Outcome", "Requests"].map((h) => el("th", { text: h, attrs: { scope: "col" } })))), el("tbody", {}, ...legal))),
    ),
  ];
}

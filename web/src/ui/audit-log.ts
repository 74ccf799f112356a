// The audit log as the admin page shows it (the chain's verdict, its head
// to publish, the entries newest first, page by page) and as the account
// page shows the actions on one's own account.

import type { AuditEntry, AuditPage } from "../api/audit.js";
import { actionText, actorText } from "../lib/audit-text.js";
import { formatWhen } from "../lib/datetime.js";
import { el, replace } from "./dom.js";

/** The admin page's audit card; `older` loads the page before an entry. */
export function auditSection(first: AuditPage, names: ReadonlyMap<string, string>, older: (before: number) => Promise<AuditPage>): HTMLElement {
  const verdict = first.verified
    ? el(
        "p",
        { id: "audit-verdict", class: "callout", attrs: { "data-state": "verified" } },
        el("strong", { text: "The chain verifies." }),
        ` ${first.entries.length === 0 ? "No entries yet." : `Head (publish it where the operator cannot change it, and check it later with kaigi audit verify --head): `}`,
        first.head && first.entries.length > 0 ? el("code", { id: "audit-head", text: first.head }) : null,
      )
    : el(
        "p",
        { id: "audit-verdict", class: "callout danger-callout", attrs: { role: "alert", "data-state": "broken" } },
        el("strong", { text: first.broken ? `The audit log is broken at entry ${first.broken.seq}: ` : "The audit log does not verify." }),
        first.broken ? `${first.broken.reason}. It was changed outside Kaigi; keep the database as it is for whoever investigates.` : "",
      );
  const body = el("tbody");
  const more = el("button", { id: "audit-older", class: "secondary", text: "Show older entries", attrs: { type: "button" } });
  const add = (page: AuditPage): void => {
    for (const e of page.entries) {
      body.append(
        el(
          "tr",
          { attrs: { "data-seq": e.seq, "data-action": e.action } },
          el("td", { text: String(e.seq) }),
          el("td", { text: formatWhen(e.time.toISOString()) }),
          el("td", { text: actorText(e, names) }),
          el("td", { text: actionText(e, names) }),
          el("td", { text: e.reason ?? "" }),
        ),
      );
    }
    const last = page.entries.at(-1);
    more.hidden = last === undefined || last.seq <= 1;
    more.dataset.before = last === undefined ? "" : String(last.seq);
  };
  more.addEventListener("click", () => {
    const before = Number(more.dataset.before);
    more.disabled = true;
    void older(before)
      .then(add)
      .catch(() => (more.textContent = "Could not load older entries; try again"))
      .finally(() => (more.disabled = false));
  });
  add(first);
  return el(
    "section",
    { id: "audit", class: "card", attrs: { "aria-labelledby": "audit-title" } },
    el("h2", { id: "audit-title", text: "Audit log" }),
    el("p", { class: "hint", text: "Every administrative and operator action, in a hash chain: changing or removing an entry afterwards shows here and in kaigi audit verify." }),
    verdict,
    el(
      "div",
      { class: "table-wrap" },
      el("table", { class: "table" }, el("thead", {}, el("tr", {}, ...["#", "When", "Who", "What", "Reason"].map((h) => el("th", { text: h, attrs: { scope: "col" } })))), body),
    ),
    el("div", { class: "row" }, more),
  );
}

/** The account page's card: administrative actions on one's own account. */
export function myAuditSection(entries: AuditEntry[]): HTMLElement {
  const list = el("ul", { id: "my-audit-list" });
  replace(
    list,
    ...entries.map((e) =>
      el(
        "li",
        { attrs: { "data-action": e.action } },
        el("strong", { text: `${formatWhen(e.time.toISOString())}: ` }),
        `${actorText(e)} ${actionText(e, new Map(), true)}.`,
        e.reason ? el("span", { class: "hint", text: ` Reason given: ${e.reason}` }) : null,
      ),
    ),
  );
  return el(
    "section",
    { id: "my-audit", class: "card", attrs: { "aria-labelledby": "my-audit-title" } },
    el("h2", { id: "my-audit-title", text: "Administrative actions on your account" }),
    entries.length === 0 ? el("p", { class: "hint", text: "None. If an administrator or the server's operator acts on your account, it shows here with the reason they gave." }) : list,
  );
}

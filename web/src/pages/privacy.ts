// The privacy page at /privacy: everything this server keeps, why and for
// how long, what its log holds, what the browser keeps, and who else gets
// any of it. The words come from the server (GET /api/privacy), which
// describes every table and column of its database; a test there fails when
// the database gains something the page does not describe.

import { asApiError } from "../api/http.js";
import { privacy, type PrivacyReport, type PrivacyTable } from "../api/privacy.js";
import { showScreen } from "../app.js";
import { el } from "../ui/dom.js";
import { accountPage } from "../ui/header.js";
import { fatalScreen } from "../ui/screens.js";
import { openPage } from "./signedin.js";

export async function showPrivacy(): Promise<void> {
  const me = await openPage("privacy", "Privacy · Kaigi", false, () => void showPrivacy());
  if (me === undefined) return;
  let report: PrivacyReport;
  try {
    report = await privacy();
  } catch (e) {
    showScreen(fatalScreen("unavailable", asApiError(e).message, [{ id: "retry", label: "Try again", run: () => void showPrivacy() }]));
    return;
  }
  const page = accountPage("privacy", me, ...privacyBody(report));
  page.dataset.loaded = "true";
  showScreen(page, false);
}

function privacyBody(r: PrivacyReport): HTMLElement[] {
  const org = r.organisation || "The organisation";
  const noLimit = r.tables.filter((t) => t.noLimit).map((t) => t.title);
  const short = el(
    "ul",
    { class: "privacy-short" },
    el("li", {
      id: "privacy-third-parties",
      text:
        r.thirdParties.length === 0
          ? "No third party receives any of this data. The pages load nothing from other sites: no analytics, no advertising, no tracking."
          : `The pages load nothing from other sites: no analytics, no advertising, no tracking. To connect calls, your browser also contacts these outside servers, which ${org} chose and which see your network address: ${r.thirdParties.join(", ")}. Nothing else is shared with anyone.`,
    }),
    el("li", { text: "In an end-to-end encrypted meeting, what is said and shown is encrypted in the browsers: this server passes it on and cannot see or hear it. Nothing said or shown in any meeting is stored." }),
    el("li", {
      id: "privacy-no-limit",
      text: `Kept with no time limit yet: ${[...noLimit.map((t) => t.toLowerCase()), "the server's log (its length is the operator's setting)"].join("; ")}.`,
    }),
  );
  return [
    el("h1", { text: "Privacy" }),
    el("p", {
      class: "lead small",
      text: `${org} runs this Kaigi server. This page lists everything the server keeps, why, and for how long, and what your browser keeps. It is written from the server's own description of its database, so nothing it stores is left out.`,
    }),
    el("section", { id: "privacy-summary", class: "card" }, el("h2", { text: "In short" }), short),
    el(
      "section",
      { id: "privacy-stored", class: "card" },
      el("h2", { text: "What the server stores" }),
      el("p", { text: "Each kind of record in the server's database, with every item it holds." }),
      ...r.tables.map(tableSection),
      el("h3", { text: "Files besides the database" }),
      el("ul", {}, ...r.files.map((f) => el("li", {}, el("code", { text: f.file }), ` — ${f.what} ${f.kept}`))),
    ),
    el(
      "section",
      { id: "privacy-logs", class: "card" },
      el("h2", { text: "What the server's log holds" }),
      el("ul", {}, ...r.logs.holds.map((h) => el("li", { text: h }))),
      el("p", {}, el("strong", { text: "Never in the log: " }), r.logs.never),
      el("p", {}, el("strong", { text: "How long: " }), r.logs.kept),
    ),
    el(
      "section",
      { id: "privacy-browser", class: "card" },
      el("h2", { text: "What your browser keeps" }),
      el("p", { text: "Kept by your browser on your device, not on the server. Names ending in “.” are followed by a meeting's ID, one per meeting." }),
      el(
        "table",
        { class: "privacy-browser-table" },
        el("thead", {}, el("tr", {}, el("th", { text: "Where" }), el("th", { text: "Name" }), el("th", { text: "What" }), el("th", { text: "How long" }))),
        el(
          "tbody",
          {},
          ...r.browser.map((b) =>
            el("tr", { attrs: { "data-key": b.key } }, el("td", { text: b.where }), el("td", {}, el("code", { text: b.key })), el("td", { text: b.what }), el("td", { text: b.kept })),
          ),
        ),
      ),
    ),
    el("section", { id: "privacy-not-kept", class: "card" }, el("h2", { text: "What is never kept" }), el("ul", {}, ...r.notKept.map((n) => el("li", { text: n })))),
    el("p", { class: "privacy-about" }, "The server's version and how to check it: ", el("a", { attrs: { href: "/about" }, text: "About Kaigi" }), "."),
  ];
}

function tableSection(t: PrivacyTable): HTMLElement {
  return el(
    "article",
    { class: "privacy-table", attrs: { "data-table": t.table } },
    el("h3", {}, t.title, " ", el("code", { class: "privacy-name", text: t.table })),
    el("p", {}, el("strong", { text: "Why: " }), t.why),
    el("p", { class: t.noLimit ? "privacy-kept no-limit" : "privacy-kept" }, el("strong", { text: "How long: " }), t.kept),
    el("ul", { class: "privacy-columns" }, ...t.columns.map((c) => el("li", { attrs: { "data-column": c.column } }, c.what, " ", el("code", { class: "privacy-name", text: c.column })))),
  );
}

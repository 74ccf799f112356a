// The about page at /about: the server's version and the SHA-256 of the web
// client it serves (GET /api/about), which an organisation publishes and
// anyone can recompute from a release's files, so that a copy of Kaigi
// from a fake download site shows itself (product problem P11).

import { asApiError } from "../api/http.js";
import { about, type About } from "../api/privacy.js";
import { showScreen } from "../app.js";
import { el } from "../ui/dom.js";
import { accountPage } from "../ui/header.js";
import { fatalScreen } from "../ui/screens.js";
import { openPage } from "./signedin.js";

export async function showAbout(): Promise<void> {
  const me = await openPage("about", "About · Kaigi", false, () => void showAbout());
  if (me === undefined) return;
  let a: About;
  try {
    a = await about();
  } catch (e) {
    showScreen(fatalScreen("unavailable", asApiError(e).message, [{ id: "retry", label: "Try again", run: () => void showAbout() }]));
    return;
  }
  const page = accountPage("about", me, ...aboutBody(a));
  page.dataset.loaded = "true";
  showScreen(page, false);
}

function fact(label: string, id: string, ...value: (Node | string)[]): HTMLElement[] {
  return [el("dt", { text: label }), el("dd", { id }, ...value)];
}

function aboutBody(a: About): HTMLElement[] {
  const web = a.webClient.sha256
    ? [el("code", { class: "about-hash", text: a.webClient.sha256 }), ` (${a.webClient.files} files)`]
    : ["This server was built without the web client."];
  const build = `${a.build.go}, ${a.build.platform}, ${a.build.trimpath ? "built with -trimpath (reproducible)" : "not built with -trimpath"}` +
    (a.build.revision ? `, revision ${a.build.revision}${a.build.modified ? " with local changes" : ""}` : "");
  return [
    el("h1", { text: "About Kaigi" }),
    el("p", { class: "lead small", text: "Kaigi is self-hosted video meetings: this server, run by your organisation, is the whole service." }),
    el(
      "section",
      { class: "card" },
      el(
        "dl",
        { id: "about-facts", class: "about-facts" },
        ...fact("Version", "about-version", a.version),
        ...fact("Web client SHA-256", "about-web-sha256", ...web),
        ...fact("Built with", "about-build", build),
        ...fact("Source", "about-source", a.source),
        ...fact("Licence", "about-licence", a.licence || "Not stated in the source yet."),
      ),
    ),
    el(
      "section",
      { class: "card" },
      el("h2", { text: "Check that this is the real thing" }),
      el("p", {
        text: "Your organisation can publish the version and the web client's SHA-256 above. The command kaigi version prints the same values on the server. To recompute the SHA-256 from the source of this version, build it (make web) and run this in web/dist:",
      }),
      el("pre", { class: "about-command" }, el("code", { text: a.webClient.command })),
      el("p", { text: "It prints the same value followed by “-”. A different value means the pages your browser runs are not the ones released." }),
    ),
    el("p", {}, el("a", { id: "about-privacy", attrs: { href: "/privacy" }, text: "What Kaigi stores, and why" })),
  ];
}

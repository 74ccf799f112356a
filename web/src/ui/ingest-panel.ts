// The meeting owner's stream-in (WHIP) sources, in the meeting settings
// dialog: make a token for OBS or GStreamer (its URL and token shown once),
// see the tokens made, revoke one (which ends its stream). To anyone but
// the owner the server answers that the meeting is not theirs, and the
// section stays hidden.

import { ApiError, asApiError } from "../api/http.js";
import { createIngestToken, listIngestTokens, revokeIngestToken, type IngestToken } from "../api/ingest.js";
import { copyText } from "../lib/clipboard.js";
import { NOT_E2EE_HINT } from "../meeting/ingest.js";
import { el, replace, show } from "./dom.js";

/** Builds the section and loads the meeting's tokens into it. */
export function ingestPanel(meetingId: string): HTMLElement {
  const list = el("ul", { id: "ingest-tokens", class: "ingest-tokens" });
  const status = el("p", { class: "hint", attrs: { role: "status" } });
  const shown = el("div", { id: "ingest-new", class: "ingest-new" });
  const name = el("input", { id: "ingest-name", attrs: { type: "text", maxlength: 64, placeholder: "GStreamer", "aria-label": "Name of the source" } });
  const make = el("button", { id: "ingest-create", class: "secondary", text: "Make a token", attrs: { type: "button" } });
  const root = el(
    "section",
    { id: "ingest", class: "ingest-panel", attrs: { "aria-labelledby": "ingest-title" } },
    el("h3", { id: "ingest-title", text: "Stream in (WHIP)" }),
    el("p", { class: "hint", text: `${NOT_E2EE_HINT} Give the program the URL and the token; the token is shown once.` }),
    list,
    el("div", { class: "ingest-form" }, name, make),
    shown,
    status,
  );
  show(root, false);

  const render = (tokens: IngestToken[], allowed: boolean) => {
    replace(
      list,
      ...tokens.map((t) =>
        el(
          "li",
          { attrs: { "data-token": t.id } },
          el("span", { class: "name", text: t.name }),
          el("span", { class: "hint", text: t.lastUsed ? ` last streamed ${new Date(t.lastUsed).toLocaleString()}` : " never used" }),
          el("button", {
            class: "secondary ingest-revoke",
            text: "Revoke",
            attrs: { type: "button", "aria-label": `Revoke ${t.name}` },
            on: { click: () => void revoke(t) },
          }),
        ),
      ),
    );
    status.textContent = allowed ? "" : "This end-to-end encrypted meeting does not take sources now: allow them above, and save.";
  };
  const load = async () => {
    try {
      const { tokens, allowed } = await listIngestTokens(meetingId);
      render(tokens, allowed);
      show(root, true);
    } catch (e) {
      // Not the owner (404) or signed out: nothing to show.
      if (!(e instanceof ApiError) || e.status !== 404) status.textContent = asApiError(e).message;
    }
  };
  const revoke = async (t: IngestToken) => {
    try {
      await revokeIngestToken(meetingId, t.id);
      await load();
    } catch (e) {
      status.textContent = asApiError(e).message;
    }
  };
  make.addEventListener("click", () => {
    void (async () => {
      try {
        const t = await createIngestToken(meetingId, name.value.trim() || "Stream");
        const url = el("input", { id: "ingest-url", attrs: { type: "text", readonly: true, value: t.url, "aria-label": "WHIP URL" } });
        const token = el("input", { id: "ingest-token", attrs: { type: "text", readonly: true, value: t.token ?? "", "aria-label": "Bearer token" } });
        replace(
          shown,
          el("label", { text: "WHIP URL" }, url),
          el("label", { text: "Bearer token (shown once)" }, token),
          el("button", { class: "secondary", text: "Copy the token", attrs: { type: "button" }, on: { click: () => void copyText(t.token ?? "") } }),
        );
        name.value = "";
        await load();
      } catch (e) {
        status.textContent = asApiError(e).message;
      }
    })();
  });
  void load();
  return root;
}

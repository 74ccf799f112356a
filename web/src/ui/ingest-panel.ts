// The meeting's programs outside end-to-end encryption, in the meeting
// settings dialog: stream-in (WHIP) sources and watching (WHEP) viewers.
// For each, make a token for OBS or GStreamer (its URL and token shown
// once), see the tokens made, revoke one (which ends its session). The
// owner manages them, and so does a host or co-host of the running
// meeting who is signed in; to anyone else the server answers that the
// meeting is not theirs, and the sections stay hidden.

import { ApiError, asApiError } from "../api/http.js";
import { createToken, listTokens, revokeToken, type IngestToken, type TokenKind } from "../api/ingest.js";
import { copyText } from "../lib/clipboard.js";
import { NOT_E2EE_HINT, VIEWER_HINT } from "../meeting/ingest.js";
import { el, replace, show } from "./dom.js";

/** What tells the two sections apart. */
interface Kind {
  kind: TokenKind;
  title: string;
  hint: string;
  placeholder: string;
  nameLabel: string;
  protocol: string;
  used: string;
  notAllowed: string;
}

const INGEST: Kind = {
  kind: "ingest",
  title: "Stream in (WHIP)",
  hint: NOT_E2EE_HINT,
  placeholder: "GStreamer",
  nameLabel: "Name of the source",
  protocol: "WHIP",
  used: "last streamed",
  notAllowed: "This end-to-end encrypted meeting does not take sources now: allow them above, and save.",
};

const EGRESS: Kind = {
  kind: "egress",
  title: "Watch (WHEP)",
  hint: `${VIEWER_HINT} It gets the active speaker's sound and picture (or the shared screen).`,
  placeholder: "Stage screen",
  nameLabel: "Name of the viewer",
  protocol: "WHEP",
  used: "last watched",
  notAllowed: "This end-to-end encrypted meeting does not let programs watch now: allow programs outside encryption above, and save.",
};

/** Builds the stream-in and watch sections and loads the meeting's tokens into them. */
export function ingestPanel(meetingId: string): HTMLElement {
  return el("div", { class: "ingest-panels" }, tokenSection(meetingId, INGEST), tokenSection(meetingId, EGRESS));
}

function tokenSection(meetingId: string, k: Kind): HTMLElement {
  const id = k.kind;
  const list = el("ul", { id: `${id}-tokens`, class: "ingest-tokens" });
  const status = el("p", { class: "hint", attrs: { role: "status" } });
  const shown = el("div", { id: `${id}-new`, class: "ingest-new" });
  const name = el("input", { id: `${id}-name`, attrs: { type: "text", maxlength: 64, placeholder: k.placeholder, "aria-label": k.nameLabel } });
  const make = el("button", { id: `${id}-create`, class: "secondary", text: "Make a token", attrs: { type: "button" } });
  const root = el(
    "section",
    { id, class: "ingest-panel", attrs: { "aria-labelledby": `${id}-title` } },
    el("h3", { id: `${id}-title`, text: k.title }),
    el("p", { class: "hint", text: `${k.hint} Give the program the URL and the token; the token is shown once.` }),
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
          el("span", { class: "hint", text: t.lastUsed ? ` ${k.used} ${new Date(t.lastUsed).toLocaleString()}` : " never used" }),
          t.byOwner ? null : el("span", { class: "hint ingest-by-cohost", text: " · made by a co-host" }),
          el("button", {
            class: "secondary ingest-revoke",
            text: "Revoke",
            attrs: { type: "button", "aria-label": `Revoke ${t.name}` },
            on: { click: () => void revoke(t) },
          }),
        ),
      ),
    );
    status.textContent = allowed ? "" : k.notAllowed;
  };
  const load = async () => {
    try {
      const { tokens, allowed } = await listTokens(meetingId, k.kind);
      render(tokens, allowed);
      show(root, true);
    } catch (e) {
      // Not the owner (404) or signed out: nothing to show.
      if (!(e instanceof ApiError) || e.status !== 404) status.textContent = asApiError(e).message;
    }
  };
  const revoke = async (t: IngestToken) => {
    try {
      await revokeToken(meetingId, k.kind, t.id);
      await load();
    } catch (e) {
      status.textContent = asApiError(e).message;
    }
  };
  make.addEventListener("click", () => {
    void (async () => {
      try {
        const t = await createToken(meetingId, k.kind, name.value.trim() || (k.kind === "ingest" ? "Stream" : "Viewer"));
        const url = el("input", { id: `${id}-url`, attrs: { type: "text", readonly: true, value: t.url, "aria-label": `${k.protocol} URL` } });
        const token = el("input", { id: `${id}-token`, attrs: { type: "text", readonly: true, value: t.token ?? "", "aria-label": "Bearer token" } });
        replace(
          shown,
          el("label", { text: `${k.protocol} URL` }, url),
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

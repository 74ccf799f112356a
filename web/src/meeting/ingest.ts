// Sources outside end-to-end encryption (WHIP ingest, docs/security.md,
// "WHIP ingest"): a streaming program publishing into the meeting cannot
// join MLS, so its media arrives as the program sent it. Under end-to-end
// encryption the page plays such a source's tracks without decrypting
// them, and marks it everywhere, but only when the roster says it is one
// AND the meeting's settings allow sources: a meeting whose host did not
// allow them decrypts (and so drops) whatever a server sends as one.

import type { Participant } from "./protocol.js";
import type { Settings } from "./settings.js";

/** Whether a participant's tracks are played as they arrive, not decrypted. */
export function playsInClear(p: Readonly<Participant> | undefined, settings: Readonly<Settings> | null | undefined): boolean {
  return p?.ingest === true && settings?.ingest === true;
}

/**
 * The participants who should hold a key: everyone but the sources that
 * play in clear, which never join the group (a source the meeting does not
 * allow is kept, so that it is flagged as holding no key).
 */
export function keyHolders(people: readonly Participant[], settings: Readonly<Settings> | null | undefined): readonly Participant[] {
  return people.filter((p) => !playsInClear(p, settings));
}

/** The words that mark a source, in the roster and on its tile. */
export const NOT_E2EE_LABEL = "Not end-to-end encrypted";
export const NOT_E2EE_HINT = "A stream-in (WHIP) source, such as GStreamer: what it sends is not end-to-end encrypted.";
/** The words that mark a program watching over WHEP (its participant has ingest and viewer set). */
export const VIEWER_LABEL = "Watching · not end-to-end encrypted";
export const VIEWER_HINT = "A program watching the meeting over WHEP, such as OBS: it receives what is sent outside end-to-end encryption (in an end-to-end encrypted meeting, frames it cannot decrypt), and everyone sees it here.";

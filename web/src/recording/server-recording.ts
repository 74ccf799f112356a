// Recording on the server (docs/security.md, "Recording on the server";
// docs/protocol.md, "Recording"): in a meeting that is not end-to-end
// encrypted a host or co-host may have the server record the meeting
// itself instead of this browser. The server records what a WHEP viewer
// gets, the active speaker's video (or a shared screen) and voice, one
// speaker at a time and not a mix, as plain WebM that it can play,
// stored as the starter's recording. This module holds its menu item, its
// confirmation, what the indicator says of it, and opening such a
// recording on the Recordings page (its chunks are the file: nothing to
// decrypt).

import { getChunk, getRecording } from "../api/recordings.js";
import type { RecordingState } from "../meeting/protocol.js";
import type { MeetingSession } from "../meeting/session.js";
import { openDialog } from "../ui/dialog.js";
import { el } from "../ui/dom.js";
import type { MenuItem } from "../ui/menu.js";

/** What the server records, as the UI says it everywhere. */
export const SERVER_RECORDS = "Recorded by the server: the speaker's video and voice";

/** The "More" menu's item to start a server recording: for a host or co-host of a meeting without end-to-end encryption. */
export function serverRecordItem(session: MeetingSession, start: () => void): MenuItem[] {
  if (session.e2ee || (session.role !== "host" && session.role !== "cohost")) return [];
  return [
    {
      action: "record-server",
      id: "menu-record-server",
      label: "Record on the server",
      title: `${SERVER_RECORDS} (one speaker at a time, not a mix), not end-to-end encrypted`,
      run: start,
    },
  ];
}

/** The "More" menu's item to stop the server's recording, for a host or co-host. */
export function serverStopItem(session: MeetingSession, state: RecordingState | null): MenuItem[] {
  if (!state?.on || !state.server || (session.role !== "host" && session.role !== "cohost")) return [];
  return [{ action: "record", id: "menu-record", label: "Stop recording", run: () => session.host.record(false, "") }];
}

/** Asks the host to confirm, then asks the server to record. */
export async function startServerRecording(session: MeetingSession, root: HTMLElement): Promise<void> {
  const ok = await openDialog(root, {
    id: "record-server-confirm",
    title: "Record this meeting on the server?",
    body: [
      el("p", { text: `${SERVER_RECORDS}: whoever speaks is recorded, with their camera or a shared screen, one speaker at a time (two people talking at once are not mixed).` }),
      el("p", { text: "This meeting is not end-to-end encrypted, so the server can see and keep what it records: the recording is not encrypted with anyone's key. It is stored as your recording, listed under Recordings, and deleted with the organisation's retention limit." }),
      el("p", { class: "hint", text: "Everyone in the meeting is told, and told again when they join. The recording stops when you stop it or leave, when the meeting ends, or after 4 hours." }),
    ],
    confirm: { id: "record-server-start", label: "Record on the server" },
  });
  if (ok) session.host.recordOnServer();
}

/**
 * Whether the indicator speaks of a server recording: the server says it
 * records, and no group says a browser does. Never in an end-to-end
 * encrypted meeting, whose media the server cannot read: a server that
 * says so there would have the indicator call the meeting not end-to-end
 * encrypted; its word is shown as any recording the server reports.
 */
export function showsServerRecording(state: RecordingState | null, source: string | null, e2ee: boolean): boolean {
  return !e2ee && source === "server" && state?.on === true && state.server === true;
}

/** The indicator's sentence for a server recording. */
export function serverIndicatorText(name: string, self: boolean): string {
  const who = self ? "You started it" : `${name || "A host"} started it`;
  return `Recording on the server. ${SERVER_RECORDS}. ${who}; this meeting is not end-to-end encrypted, so the server can play the recording.`;
}

/** The notice when a server recording starts, or when one joins a meeting being recorded by the server. */
export function serverNotice(name: string): string {
  return `${name || "A host"} has the server record this meeting (the speaker's video and voice). If you do not agree, you may leave.`;
}

/** A server recording as a playable Blob: its chunks joined (plain WebM), with the length the server noted. */
export async function openServerRecording(id: string): Promise<{ blob: Blob; durationMs: number }> {
  const r = await getRecording(id);
  const parts: Uint8Array<ArrayBuffer>[] = [];
  for (let n = 0; n < r.recording.chunks; n++) parts.push((await getChunk(id, n)) as Uint8Array<ArrayBuffer>);
  let durationMs = 0;
  try {
    const m = JSON.parse(new TextDecoder().decode(r.manifest ?? new Uint8Array())) as { durationMs?: unknown };
    if (typeof m.durationMs === "number") durationMs = m.durationMs;
  } catch {
    // An unfinished recording has no manifest yet.
  }
  return { blob: new Blob(parts, { type: "video/webm" }), durationMs };
}

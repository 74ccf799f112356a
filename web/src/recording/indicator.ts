// What the recording indicator shows (docs/security.md, "Who records and
// who is told"): on when the server says someone records, and on when the
// meeting's MLS group says a member records, whatever the server says. The
// group's word (e2ee/recording-state.ts) is one the server cannot hide
// from a member that can still decrypt the meeting; the server's is kept
// too, for meetings without end-to-end encryption and because showing more
// is never the danger.

import type { RecordingState } from "../meeting/protocol.js";
import { recorderPresent, type GroupRecording } from "../e2ee/recording-state.js";

/** A group member as the screen knows it (e2ee/member-view.ts). */
export interface IndicatorMember {
  leaf: number;
  signaturePublicKey: Uint8Array;
  self: boolean;
  name: string | null;
}

export interface Indicator {
  on: boolean;
  /** This browser records. */
  self: boolean;
  /** Who records, as the group or the server names them ("" unknown). */
  name: string;
  /** Who says so. */
  source: "group" | "server" | "both" | null;
  /** The recording's ID (the group's, else the server's). */
  recording: string;
}

export function recordingIndicator(server: RecordingState | null, group: GroupRecording | null, members: readonly IndicatorMember[], selfId: string | null): Indicator {
  const leaves = members.map((m) => ({ leafIndex: m.leaf, signaturePublicKey: m.signaturePublicKey }));
  const inGroup = group !== null && recorderPresent(group, leaves);
  const byServer = server?.on === true;
  if (!inGroup && !byServer) return { on: false, self: false, name: "", source: null, recording: "" };
  const recorder = inGroup ? members.find((m) => m.leaf === group.leaf) : undefined;
  const self = (recorder?.self ?? false) || (byServer && selfId !== null && server.by === selfId);
  const name = recorder?.name || (byServer ? server.name : "");
  return {
    on: true,
    self,
    name,
    source: inGroup && byServer ? "both" : inGroup ? "group" : "server",
    recording: inGroup ? group.id : (server?.recording ?? ""),
  };
}

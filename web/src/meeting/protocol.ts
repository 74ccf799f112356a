// Message types of the Kaigi signalling protocol, version 1, and the
// validation of what the server sends. docs/protocol.md is the contract; this
// file mirrors it and must change in the same commit as that document.

import type { ClientE2EEMessage, ServerE2EEMessage } from "../e2ee/member.js";
import { parseSettings, type Settings } from "./settings.js";
import { MAX_COUNTDOWN_S, MAX_ROOMS, type BreakoutStatus } from "./breakouts.js";
import { redirectOrigin } from "./region-redirect.js";

export const PROTOCOL_VERSION = 1;
export const CLIENT_SOFTWARE = "kaigi-web/0.1.0";

export type Source = "microphone" | "camera" | "screen" | "screen-audio";
export type Kind = "audio" | "video";
export const SOURCES: readonly Source[] = ["microphone", "camera", "screen", "screen-audio"];

/** The kind of media each source carries (protocol: "Published track"). */
export function kindOfSource(source: Source): Kind {
  return source === "microphone" || source === "screen-audio" ? "audio" : "video";
}

export function isSource(v: unknown): v is Source {
  return typeof v === "string" && (SOURCES as readonly string[]).includes(v);
}

export interface Participant {
  id: string;
  name: string;
  /** "host", "cohost" or "participant"; kept as a string so a newer server's roles do not break the client. */
  role: string;
  /** Joined with an account; false for a guest. */
  signedIn: boolean;
  /** The account's ID (opaque, stable), for those signed in; absent for a guest. Key what is remembered about a person (a verified key) by it, never by name. */
  account?: string;
  joinedAt: string;
  audio: boolean;
  video: boolean;
  screen: boolean;
  /** "connected" or "reconnecting". */
  connection: string;
  /** A host muted them. */
  mutedByHost: boolean;
  /** A WHIP source (OBS, GStreamer), not a person: its media is not end-to-end encrypted (ingest.ts). */
  ingest?: boolean;
  /** With ingest: a program watching over WHEP, which publishes nothing (ingest.ts). */
  viewer?: boolean;
}

/** A track the client receives, as listed in a server offer. */
export interface Track {
  mid: string;
  participant: string;
  source: Source;
  kind: Kind;
}

/** A track the client sends, as listed in a client offer. */
export interface PublishedTrack {
  mid: string;
  source: Source;
}

/** The JSON form of RTCIceCandidateInit. */
export interface Candidate {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
  usernameFragment?: string | null;
}

// ---- client → server -------------------------------------------------------

export interface Hello {
  type: "hello";
  v: number;
  client?: string;
  meeting: string;
  name: string;
  passcode?: string;
  device?: string;
  resume?: string;
  keyPackage?: string;
  /** On a resume: the MLS epoch the client's group state is at. */
  e2eeEpoch?: number;
  /** With e2eeEpoch: that epoch's resume proof (e2ee/resume.ts), base64. */
  e2eeProof?: string;
  /** A move's one-time token (breakout, breakout_return), and the breakout room it is for (absent: the main room). */
  token?: string;
  breakout?: number;
  audio?: boolean;
  video?: boolean;
}

export interface ClientOffer {
  type: "offer";
  sdp: string;
  tracks: PublishedTrack[];
}

export interface ClientAnswer {
  type: "answer";
  sdp: string;
}

export interface ClientCandidate {
  type: "candidate";
  candidate: Candidate;
}

export interface MediaState {
  audio: boolean;
  video: boolean;
  screen: boolean;
}

export interface Media extends MediaState {
  type: "media";
}

/** Host controls (docs/protocol.md, "Host controls"). `participant` is a participant ID or a waiting-room entry's ID. */
export type HostControl =
  | { type: "admit"; participant: string }
  | { type: "admit"; all: true }
  | { type: "deny"; participant: string }
  | { type: "deny"; all: true }
  | { type: "lock"; locked: boolean }
  | { type: "remove"; participant: string; ban: boolean }
  | { type: "mute"; participant: string }
  | { type: "mute_all" }
  | { type: "stop_video"; participant: string; screen: boolean }
  | { type: "rename"; participant: string; name: string }
  | { type: "set_role"; participant: string; role: "cohost" | "participant" }
  | { type: "settings"; settings: Settings }
  | { type: "end" }
  | { type: "breakout_open"; rooms: { name: string; participants: string[] }[]; seconds: number }
  | { type: "breakout_move"; participant: string; room: number }
  | { type: "breakout_close"; seconds: number }
  | { type: "breakout_broadcast"; payload: string }
  | { type: "breakout_broadcast"; text: string }
  | { type: "record"; on: boolean; recording: string; server?: boolean };

export type ClientMessage =
  | Hello
  | ClientOffer
  | ClientAnswer
  | ClientCandidate
  | Media
  | HostControl
  | ClientE2EEMessage
  | VideoSize
  | { type: "ready" }
  | { type: "ping" }
  | { type: "leave" };

/**
 * The size a received video is drawn at, in device pixels; 0×0 when it is
 * not shown. The server forwards the simulcast layer that fits.
 */
export interface VideoSize {
  type: "video_size";
  participant: string;
  source: "camera" | "screen";
  width: number;
  height: number;
}

// ---- server → client -------------------------------------------------------

export interface Welcome {
  type: "welcome";
  v: number;
  server: string;
  meeting: { id: string };
  self: Participant;
  participants: Participant[];
  resume: string;
  resumed: boolean;
  iceServers: RTCIceServer[];
  /** The meeting's settings; null from a server that does not send them. */
  settings: Settings | null;
  /** The meeting is end-to-end encrypted. */
  e2ee: boolean;
  /** The server takes the camera as simulcast (rid q, h, f). */
  simulcast: boolean;
  /**
   * With `resumed`: the server restarted and lost the meeting's encrypted
   * group; leave the one held and form a fresh one with the same people.
   */
  e2eeRestart: boolean;
  /** With `resumed`: the server lost the group and continues it at this epoch, from the one our hello proved; null otherwise. */
  e2eeEpoch: number | null;
  /** In a breakout room: which one. */
  breakout: { room: number; name: string } | null;
}

/** Put in the waiting room (sent again when the reason changes). */
export interface Waiting {
  type: "waiting";
  /** "host_absent" or "waiting_room". */
  reason: string;
}

/** Someone in the waiting room, as hosts see them. */
export interface WaitingEntry {
  id: string;
  name: string;
  signedIn: boolean;
  reason: string;
  since: string;
  /** From a network a host banned someone from: "Admit all" leaves them waiting. */
  bannedNetwork: boolean;
}

export interface WaitingRoom {
  type: "waiting_room";
  entries: WaitingEntry[];
  /** Many wrong passcodes were tried for this meeting lately (an alert; nobody is refused for it). */
  guessing: boolean;
}

export interface SettingsChanged {
  type: "settings";
  settings: Settings;
}

/** A host turned one of this participant's devices off. */
export interface MediaStopped {
  type: "media_stopped";
  /** "microphone", "camera" or "screen". */
  source: string;
  /** The host's display name. */
  by: string;
}

export interface Refused {
  type: "refused";
  code: string;
  message: string;
  /** region_not_allowed only: the origin of a node that may hold the meeting (region-redirect.ts), else null. */
  redirect: string | null;
}

export interface ParticipantJoined {
  type: "participant_joined";
  participant: Participant;
}

export interface ParticipantUpdated {
  type: "participant_updated";
  participant: Participant;
}

export interface ParticipantLeft {
  type: "participant_left";
  id: string;
  reason: string;
}

export interface ServerOffer {
  type: "offer";
  sdp: string;
  tracks: Track[];
}

export interface ServerAnswer {
  type: "answer";
  sdp: string;
}

export interface ServerCandidate {
  type: "candidate";
  candidate: Candidate;
}

export interface ServerError {
  type: "error";
  code: string;
  message: string;
  ref?: number;
}

export interface Closed {
  type: "closed";
  reason: string;
  message: string;
}

export type ServerMessage =
  | Welcome
  | Refused
  | ParticipantJoined
  | ParticipantUpdated
  | ParticipantLeft
  | ServerOffer
  | ServerAnswer
  | ServerCandidate
  | { type: "renegotiate" }
  | { type: "ice_restart" }
  | { type: "pong" }
  | ServerError
  | Closed
  | Waiting
  | WaitingRoom
  | SettingsChanged
  | MediaStopped
  | Draining
  | BreakoutMove
  | BreakoutsStatus
  | BreakoutBroadcast
  | AdminNotice
  | ServerE2EEMessage
  | RecordingState;

/** The meeting's recording (docs/protocol.md `recording`): on, whose browser records (`by`, a participant ID; `name`), since when, and the recording's ID; `server`: the server records (started by `by`), which it does only in a meeting that is not end-to-end encrypted. */
export interface RecordingState {
  type: "recording";
  on: boolean;
  recording: string;
  by: string;
  name: string;
  since: string;
  server?: boolean;
}

/** An administrator's action on the meeting (docs/protocol.md `admin_notice`): what they did ("locked", "unlocked"), their reason, and the server's sentence to show, cleaned of control and invisible characters. */
export interface AdminNotice {
  type: "admin_notice";
  action: string;
  reason: string;
  message: string;
}

/** The longest administrator's notice shown, in characters (the server's reason is at most 500). */
export const ADMIN_NOTICE_MAX = 1000;

/** One paragraph of at most ADMIN_NOTICE_MAX characters: invisible format characters removed, control characters and runs of white space made one space; null if nothing is left. */
export function cleanNoticeText(text: string): string | null {
  const t = text.replace(/\p{Cf}+/gu, "").replace(/[\p{Cc}\s]+/gu, " ").trim();
  return t === "" ? null : t.length > ADMIN_NOTICE_MAX ? `${t.slice(0, ADMIN_NOTICE_MAX - 1)}…` : t;
}

/** A host's message to all rooms (breakout-broadcast.ts): sealed (`payload`, base64) under end-to-end encryption, else `text` in clear. `from` is the server's word. */
export interface BreakoutBroadcast {
  type: "breakout_broadcast";
  from: string;
  payload: string | null;
  text: string | null;
}

/** The server sends this participant to a breakout room (`breakout`, room ≥ 1) or back to the main room (`breakout_return`, room 0). */
export interface BreakoutMove {
  type: "breakout" | "breakout_return";
  room: number;
  name: string;
  seconds: number;
  token: string;
}

/** Who is where while breakout rooms are open (hosts and co-hosts). */
export interface BreakoutsStatus extends BreakoutStatus {
  type: "breakouts";
}

/** The server stops within `seconds` (a restart): nobody new joins; those in come back once it is up. */
export interface Draining {
  type: "draining";
  seconds: number;
}

export type ParseResult =
  | { ok: true; message: ServerMessage }
  | { ok: false; reason: string };

// ---- validation --------------------------------------------------------------

type Obj = Record<string, unknown>;

class Invalid extends Error {}

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function str(o: Obj, key: string): string {
  const v = o[key];
  if (typeof v !== "string") throw new Invalid(`${key} must be a string`);
  return v;
}

function bool(o: Obj, key: string): boolean {
  const v = o[key];
  if (typeof v !== "boolean") throw new Invalid(`${key} must be a boolean`);
  return v;
}

function int(o: Obj, key: string): number {
  const v = o[key];
  if (typeof v !== "number" || !Number.isInteger(v)) throw new Invalid(`${key} must be an integer`);
  return v;
}

function obj(o: Obj, key: string): Obj {
  const v = o[key];
  if (!isObj(v)) throw new Invalid(`${key} must be an object`);
  return v;
}

function arr(o: Obj, key: string): unknown[] {
  const v = o[key];
  if (!Array.isArray(v)) throw new Invalid(`${key} must be an array`);
  return v;
}

function participant(v: unknown): Participant {
  if (!isObj(v)) throw new Invalid("participant must be an object");
  const p: Participant = {
    id: str(v, "id"),
    name: str(v, "name"),
    role: str(v, "role"),
    signedIn: v.signedIn === true,
    joinedAt: str(v, "joinedAt"),
    audio: bool(v, "audio"),
    video: bool(v, "video"),
    screen: bool(v, "screen"),
    connection: str(v, "connection"),
    mutedByHost: v.mutedByHost === true,
  };
  const account = v.account === undefined || v.account === null ? "" : str(v, "account");
  if (account !== "") p.account = account;
  if (v.ingest === true) p.ingest = true;
  if (v.ingest === true && v.viewer === true) p.viewer = true;
  return p;
}

/** Base64 as Go writes []byte (standard alphabet, padded); "" for an absent field. */
function b64(o: Obj, key: string): string {
  const v = o[key];
  if (v === undefined || v === null) return "";
  if (typeof v !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) throw new Invalid(`${key} must be base64`);
  return v;
}

function e2eeMembers(list: unknown[]): { participant: string; keyPackage: string }[] {
  return list.map((x) => {
    if (!isObj(x)) throw new Invalid("e2ee member must be an object");
    return { participant: str(x, "participant"), keyPackage: b64(x, "keyPackage") };
  });
}

/**
 * The tracks of a server offer. An entry with a source or kind this client
 * does not know (a newer server) is dropped rather than failing the whole
 * offer: the client then simply does not show that track.
 */
function tracks(list: unknown[]): Track[] {
  const out: Track[] = [];
  for (const t of list) {
    if (!isObj(t)) throw new Invalid("track must be an object");
    const mid = str(t, "mid");
    const participantId = str(t, "participant");
    const source = str(t, "source");
    const kind = str(t, "kind");
    if (!isSource(source) || kindOfSource(source) !== kind) continue;
    out.push({ mid, participant: participantId, source, kind });
  }
  return out;
}

function candidate(v: unknown): Candidate {
  if (!isObj(v)) throw new Invalid("candidate must be an object");
  const c: Candidate = { candidate: str(v, "candidate") };
  if (typeof v.sdpMid === "string" || v.sdpMid === null) c.sdpMid = v.sdpMid;
  if (typeof v.sdpMLineIndex === "number" || v.sdpMLineIndex === null) c.sdpMLineIndex = v.sdpMLineIndex;
  if (typeof v.usernameFragment === "string" || v.usernameFragment === null) c.usernameFragment = v.usernameFragment;
  return c;
}

function iceServer(v: unknown): RTCIceServer {
  if (!isObj(v)) throw new Invalid("ice server must be an object");
  const urls = v.urls;
  if (!(typeof urls === "string" || (Array.isArray(urls) && urls.every((u) => typeof u === "string")))) {
    throw new Invalid("ice server urls must be a string or strings");
  }
  const s: RTCIceServer = { urls: urls as string | string[] };
  if (typeof v.username === "string") s.username = v.username;
  if (typeof v.credential === "string") s.credential = v.credential;
  return s;
}

function settings(v: unknown): Settings {
  const s = parseSettings(v);
  if (s === null) throw new Invalid("settings must be an object");
  return s;
}

function waitingEntry(v: unknown): WaitingEntry {
  if (!isObj(v)) throw new Invalid("waiting room entry must be an object");
  return {
    id: str(v, "id"),
    name: str(v, "name"),
    signedIn: v.signedIn === true,
    reason: typeof v.reason === "string" ? v.reason : "waiting_room",
    since: typeof v.since === "string" ? v.since : "",
    bannedNetwork: v.bannedNetwork === true,
  };
}

function message(o: Obj): ServerMessage | null {
  const type = str(o, "type");
  switch (type) {
    case "welcome":
      return {
        type,
        v: int(o, "v"),
        server: typeof o.server === "string" ? o.server : "",
        meeting: { id: str(obj(o, "meeting"), "id") },
        self: participant(o.self),
        participants: arr(o, "participants").map(participant),
        resume: str(o, "resume"),
        resumed: bool(o, "resumed"),
        iceServers: o.iceServers === undefined || o.iceServers === null ? [] : arr(o, "iceServers").map(iceServer),
        settings: o.settings === undefined || o.settings === null ? null : settings(o.settings),
        e2ee: o.e2ee === true,
        simulcast: o.simulcast === true,
        e2eeRestart: o.resumed === true && o.e2eeRestart === true,
        e2eeEpoch: o.resumed === true && o.e2eeEpoch !== undefined && o.e2eeEpoch !== null ? int(o, "e2eeEpoch") : null,
        breakout: isObj(o.breakout) ? { room: int(o.breakout, "room"), name: str(o.breakout, "name") } : null,
      };
    case "refused":
      return { type, code: str(o, "code"), message: str(o, "message"), redirect: o.code === "region_not_allowed" ? redirectOrigin(o.redirect) : null };
    case "participant_joined":
    case "participant_updated":
      return { type, participant: participant(o.participant) };
    case "participant_left":
      return { type, id: str(o, "id"), reason: str(o, "reason") };
    case "offer":
      return { type, sdp: str(o, "sdp"), tracks: tracks(arr(o, "tracks")) };
    case "answer":
      return { type, sdp: str(o, "sdp") };
    case "candidate":
      return { type, candidate: candidate(o.candidate) };
    case "pong":
    case "renegotiate":
    case "ice_restart":
      return { type };
    case "error": {
      const e: ServerError = { type, code: str(o, "code"), message: str(o, "message") };
      if (typeof o.ref === "number" && Number.isInteger(o.ref)) e.ref = o.ref;
      return e;
    }
    case "closed":
      return { type, reason: str(o, "reason"), message: str(o, "message") };
    case "waiting":
      return { type, reason: str(o, "reason") };
    case "waiting_room":
      return { type, entries: arr(o, "entries").map(waitingEntry), guessing: o.guessing === true };
    case "draining":
      return { type, seconds: Math.max(0, Math.min(int(o, "seconds"), 3600)) };
    case "breakout":
    case "breakout_return": {
      const room = type === "breakout" ? int(o, "room") : 0;
      if (room < 0 || room > MAX_ROOMS) throw new Invalid("breakout room out of range");
      return {
        type,
        room,
        name: type === "breakout" ? str(o, "name") : "",
        seconds: Math.max(0, Math.min(int(o, "seconds"), MAX_COUNTDOWN_S)),
        token: str(o, "token"),
      };
    }
    case "breakouts": {
      const people = (v: unknown): { id: string; name: string }[] => (Array.isArray(v) ? v : []).filter(isObj).map((p) => ({ id: str(p, "id"), name: str(p, "name") }));
      return {
        type,
        open: o.open === true,
        closing: o.closing === true,
        main: people(o.main),
        rooms: arr(o, "rooms").filter(isObj).map((r) => ({ room: int(r, "room"), name: str(r, "name"), participants: people(r.participants) })),
      };
    }
    case "breakout_broadcast":
      return {
        type,
        from: str(o, "from"),
        payload: o.payload === undefined || o.payload === null ? null : b64(o, "payload"),
        text: typeof o.text === "string" ? o.text : null,
      };
    case "admin_notice": {
      const message = cleanNoticeText(str(o, "message"));
      if (message === null) throw new Invalid("an administrator's notice needs a message");
      return { type, action: typeof o.action === "string" ? o.action : "", reason: typeof o.reason === "string" ? (cleanNoticeText(o.reason) ?? "") : "", message };
    }
    case "settings":
      return { type, settings: settings(o.settings) };
    case "media_stopped":
      return { type, source: str(o, "source"), by: str(o, "by") };
    case "recording":
      return { type, on: o.on === true, recording: str(o, "recording"), by: str(o, "by"), name: cleanNoticeText(str(o, "name")) ?? "", since: str(o, "since"), ...(o.server === true ? { server: true } : {}) };
    case "e2ee_job":
      return {
        type,
        create: o.create === true,
        epoch: int(o, "epoch"),
        add: o.add === null || o.add === undefined ? [] : e2eeMembers(arr(o, "add")),
        remove: o.remove === null || o.remove === undefined ? [] : e2eeMembers(arr(o, "remove")),
      };
    case "e2ee_commit":
      return { type, epoch: int(o, "epoch"), from: str(o, "from"), reason: typeof o.reason === "string" ? o.reason : "", commit: b64(o, "commit") };
    case "e2ee_commit_ok":
      return { type, epoch: int(o, "epoch") };
    case "e2ee_welcome":
      return { type, epoch: int(o, "epoch"), welcome: b64(o, "welcome") };
    case "e2ee_message":
      return { type, from: str(o, "from"), epoch: int(o, "epoch"), kind: str(o, "kind"), data: b64(o, "data"), private: o.private === true };
    default:
      return null;
  }
}

/** Parses and validates one frame from the server. Unknown fields are ignored. */
export function parseServerMessage(text: string): ParseResult {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { ok: false, reason: "not JSON" };
  }
  if (!isObj(data)) return { ok: false, reason: "not an object" };
  try {
    const m = message(data);
    if (m === null) return { ok: false, reason: `unknown type ${JSON.stringify(data.type)}` };
    return { ok: true, message: m };
  } catch (e) {
    if (e instanceof Invalid) return { ok: false, reason: `${String(data.type)}: ${e.message}` };
    throw e;
  }
}

// ---- display names -------------------------------------------------------------

export const NAME_MAX = 64;

/**
 * Checks a display name the way the server does (1–64 characters, no hidden
 * characters: see hiddenCharacter), so the pre-join screen can say what is
 * wrong before `hello`. Returns null when the name is fine.
 */
export function nameProblem(name: string): string | null {
  // Trimmed as the server trims (Unicode White_Space): String.trim would
  // also drop a byte-order mark, which the server refuses.
  const trimmed = name.replace(/^\p{White_Space}+|\p{White_Space}+$/gu, "");
  if (trimmed.length === 0) return "Please enter your name.";
  if ([...trimmed].length > NAME_MAX) return `Your name can be at most ${NAME_MAX} characters.`;
  if (hiddenCharacter(trimmed) !== null) return "Your name cannot contain control characters or invisible formatting characters (such as zero-width spaces or direction marks).";
  return null;
}

// Controls, format characters (zero-width, bidi controls, BOM, tags), line
// and paragraph separators, lone surrogates and U+FFFD (the server sees
// both as U+FFFD).
const HIDDEN = /^[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\ufffd]$/u;
// biome-ignore lint/suspicious/noMisleadingCharacterClass: tested one code point at a time; the skin-tone modifiers and VS16 are each a class member on purpose.
const BEFORE_EMOJI_JOINER = /^[\p{So}\u{1f3fb}-\u{1f3ff}\ufe0f]$/u;
const SYMBOL = /^\p{So}$/u;

/**
 * The first character a display name (or meeting title) may not contain,
 * or null: the server's rule (internal/meeting, HiddenCharacter). Format
 * characters are invisible or reorder the text around them, so one name
 * could pass for another; a zero-width joiner between two emoji (👩🏽‍💻)
 * is allowed.
 */
export function hiddenCharacter(s: string): string | null {
  const cs = [...s];
  for (let i = 0; i < cs.length; i++) {
    const c = cs[i]!;
    if (!HIDDEN.test(c)) continue;
    if (c === "\u200d" && i > 0 && BEFORE_EMOJI_JOINER.test(cs[i - 1]!) && SYMBOL.test(cs[i + 1] ?? "")) continue;
    return c;
  }
  return null;
}

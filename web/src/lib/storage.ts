// Remembered choices (display name, devices, the device ID) in localStorage,
// and passcodes, resume tokens and whether TURN relays were needed in
// sessionStorage. Storage can be disabled or full; then nothing is
// remembered and nothing breaks.

const NAME_KEY = "kaigi.name";
const DEVICES_KEY = "kaigi.devices";

export interface DevicePrefs {
  camera: string | null;
  microphone: string | null;
  speaker: string | null;
}

function get(key: string): string | null {
  try {
    return globalThis.localStorage?.getItem(key) ?? null;
  } catch {
    return null;
  }
}

function set(key: string, value: string): void {
  try {
    globalThis.localStorage?.setItem(key, value);
  } catch {
    // not remembered
  }
}

export function loadName(): string {
  return get(NAME_KEY) ?? "";
}

export function saveName(name: string): void {
  set(NAME_KEY, name);
}

export function loadDevicePrefs(): DevicePrefs {
  const prefs: DevicePrefs = { camera: null, microphone: null, speaker: null };
  const raw = get(DEVICES_KEY);
  if (raw === null) return prefs;
  try {
    const v: unknown = JSON.parse(raw);
    if (typeof v === "object" && v !== null) {
      const o = v as Record<string, unknown>;
      for (const k of ["camera", "microphone", "speaker"] as const) {
        if (typeof o[k] === "string") prefs[k] = o[k];
      }
    }
  } catch {
    // start afresh
  }
  return prefs;
}

export function saveDevicePrefs(prefs: DevicePrefs): void {
  set(DEVICES_KEY, JSON.stringify(prefs));
}

// ---- the browser's device ID ---------------------------------------------------

const DEVICE_KEY = "kaigi.device";

/** 16 random bytes as 32 hex characters: the browser's own ID, sent in hello so a host's ban can recognise it. */
export function newDeviceId(random: (bytes: Uint8Array<ArrayBuffer>) => void = (b) => crypto.getRandomValues(b)): string {
  const bytes = new Uint8Array(16);
  random(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The device ID kept in localStorage, made on first use. Without storage it is new on every page load. */
export function deviceId(): string {
  const kept = get(DEVICE_KEY);
  if (kept !== null && /^[0-9a-f]{32}$/.test(kept)) return kept;
  const id = newDeviceId();
  set(DEVICE_KEY, id);
  return id;
}

// ---- meeting passcodes, for this tab only ----------------------------------------

const PASSCODE_PREFIX = "kaigi.passcode.";

/**
 * Keeps a meeting's passcode in sessionStorage (this tab, until it closes),
 * so a reload or a rejoin does not need the invite link again.
 */
export function savePasscode(meetingId: string, code: string): void {
  try {
    globalThis.sessionStorage?.setItem(PASSCODE_PREFIX + meetingId, code);
  } catch {
    // kept in memory only
  }
}

export function loadPasscode(meetingId: string): string | null {
  try {
    return globalThis.sessionStorage?.getItem(PASSCODE_PREFIX + meetingId) ?? null;
  } catch {
    return null;
  }
}

export function forgetPasscode(meetingId: string): void {
  try {
    globalThis.sessionStorage?.removeItem(PASSCODE_PREFIX + meetingId);
  } catch {
    // nothing kept
  }
}

// ---- meetings known to be end-to-end encrypted, on this device -----------------

const E2EE_PREFIX = "kaigi.e2ee.";

/**
 * Remembers that a meeting is end-to-end encrypted: its invite link said
 * so, or this device was in it with encryption on. There is deliberately no
 * way to forget it: nothing a server says makes this device expect less.
 */
export function rememberE2ee(meetingId: string): void {
  set(E2EE_PREFIX + meetingId, "1");
}

/** Whether this device knows the meeting to be end-to-end encrypted. */
export function remembersE2ee(meetingId: string): boolean {
  return get(E2EE_PREFIX + meetingId) !== null;
}

// ---- the resume token, for this tab only -------------------------------------------

const RESUME_PREFIX = "kaigi.resume.";
/**
 * How long a kept resume token is offered after it was last confirmed. The
 * server keeps a dropped participant's place for only 30 s (signal
 * ResumeGrace), which a reload fits in; a token older than this is not
 * worth a try that would end in the waiting room anyway.
 */
export const RESUME_MAX_AGE_MS = 5 * 60_000;

/** What a tab keeps to come back to a meeting after a reload. */
export interface KeptResume {
  token: string;
  /** When the server last handed it out (ms since the epoch). */
  at: number;
  /** What was being sent, so the devices that were on come back on. */
  audio: boolean;
  video: boolean;
}

/**
 * Keeps a meeting's resume token in sessionStorage: only this tab holds
 * it (a new tab, another window or another browser cannot resume), and it
 * goes when the tab closes.
 */
export function saveResume(meetingId: string, kept: KeptResume): void {
  try {
    globalThis.sessionStorage?.setItem(RESUME_PREFIX + meetingId, JSON.stringify(kept));
  } catch {
    // a reload goes through the pre-join screen, as without
  }
}

/** The kept resume token of a meeting if it is younger than maxAgeMs at `now`; a stale or unreadable one is forgotten. */
export function loadResume(meetingId: string, now = Date.now(), maxAgeMs = RESUME_MAX_AGE_MS): KeptResume | null {
  let raw: string | null;
  try {
    raw = globalThis.sessionStorage?.getItem(RESUME_PREFIX + meetingId) ?? null;
  } catch {
    return null;
  }
  if (raw === null) return null;
  let kept: KeptResume | null = null;
  try {
    const v: unknown = JSON.parse(raw);
    if (typeof v === "object" && v !== null) {
      const o = v as Record<string, unknown>;
      if (typeof o.token === "string" && o.token !== "" && o.token.length <= 256 && typeof o.at === "number" && typeof o.audio === "boolean" && typeof o.video === "boolean") {
        kept = { token: o.token, at: o.at, audio: o.audio, video: o.video };
      }
    }
  } catch {
    // unreadable: forgotten below
  }
  if (kept === null || now - kept.at > maxAgeMs || kept.at > now + 60_000) {
    forgetResume(meetingId);
    return null;
  }
  return kept;
}

/** Where a poll's creator keeps its polls for a reload (meeting/polls.ts): this prefix, the meeting, ".", the room. */
export const POLLS_PREFIX = "kaigi.polls.";

/** Forgets a meeting's resume token, and with it the polls kept for the reload it was for. */
export function forgetResume(meetingId: string): void {
  try {
    const s = globalThis.sessionStorage;
    s?.removeItem(RESUME_PREFIX + meetingId);
    const polls = `${POLLS_PREFIX}${meetingId}.`;
    for (let i = (s?.length ?? 0) - 1; i >= 0; i--) {
      const k = s?.key(i);
      if (k?.startsWith(polls)) s?.removeItem(k);
    }
  } catch {
    // nothing kept
  }
}

// ---- TURN relays needed, for this tab only ------------------------------------------

const RELAYS_NEEDED_KEY = "kaigi.relaysNeeded";

/**
 * Whether a call in this tab needed the TURN relays before
 * (meeting/relays.ts): then every later call, a reload's included, starts
 * with them. One flag, nothing identifying; kept until the tab closes.
 */
export function loadRelaysNeeded(): boolean {
  try {
    return globalThis.sessionStorage?.getItem(RELAYS_NEEDED_KEY) === "1";
  } catch {
    return false;
  }
}

export function saveRelaysNeeded(): void {
  try {
    globalThis.sessionStorage?.setItem(RELAYS_NEEDED_KEY, "1");
  } catch {
    // remembered for this page only (relays.ts)
  }
}

// ---- a notice for the next page, for this tab only ----------------------------------

const NEW_ADMIN_KEY = "kaigi.newAdmin";

/** The account just signed up became the server's administrator: the next page says so. */
export function noteNewAdmin(): void {
  try {
    globalThis.sessionStorage?.setItem(NEW_ADMIN_KEY, "1");
  } catch {
    // the account page still says it
  }
}

/** Whether to tell the person they became the administrator; true once per sign-up. */
export function takeNewAdmin(): boolean {
  try {
    const s = globalThis.sessionStorage;
    if (!s || s.getItem(NEW_ADMIN_KEY) === null) return false;
    s.removeItem(NEW_ADMIN_KEY);
    return true;
  } catch {
    return false;
  }
}

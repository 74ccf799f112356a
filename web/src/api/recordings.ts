// Recordings (docs/api.md, "Recordings"): recording keys, creating and
// finishing a recording, its encrypted chunks up and down, readers, and
// deleting. Everything with bytes in it is ciphertext or a public key:
// the cryptography is in ../recording/crypto.ts.

import { fromBase64, toBase64 } from "../e2ee/base64.js";
import { ApiError, call, list, notUnderstood, obj, optStr, str, type Obj } from "./http.js";

export interface RecordingInfo {
  id: string;
  meeting: string;
  recorder: string;
  recorderName: string;
  e2ee: boolean;
  startedAt: string;
  finishedAt?: string;
  chunks: number;
  bytes: number;
  /** Recorded by this account. */
  mine: boolean;
  /** "browser": made and encrypted in a browser; "server": plain WebM the server recorded (a meeting without end-to-end encryption). */
  kind: "browser" | "server";
}

export interface ReaderKey {
  account: string;
  name: string;
  publicKey: Uint8Array;
  /** Its signature by the device that made it (recording/key-signature.ts), as the server returned it; absent: unsigned. */
  signature?: Uint8Array;
  setAt: string;
}

function num(o: Obj, key: string): number {
  const v = o[key];
  if (typeof v !== "number") throw notUnderstood();
  return v;
}

export function parseRecording(v: unknown): RecordingInfo {
  const o = obj(v);
  const r: RecordingInfo = {
    id: str(o, "id"),
    meeting: str(o, "meeting"),
    recorder: str(o, "recorder"),
    recorderName: optStr(o, "recorderName") ?? "",
    e2ee: o.e2ee === true,
    startedAt: str(o, "startedAt"),
    chunks: num(o, "chunks"),
    bytes: num(o, "bytes"),
    mine: o.mine === true,
    kind: o.kind === "server" ? "server" : "browser",
  };
  const f = optStr(o, "finishedAt");
  if (f !== undefined) r.finishedAt = f;
  return r;
}

function parseKey(v: unknown): ReaderKey {
  const o = obj(v);
  const k: ReaderKey = { account: str(o, "account"), name: optStr(o, "name") ?? "", publicKey: fromBase64(str(o, "publicKey")), setAt: str(o, "setAt") };
  const sig = optStr(o, "signature");
  if (sig !== undefined) k.signature = fromBase64(sig);
  return k;
}

/** This account's recording public key on the server, or null if it has none. */
export async function myRecordingKey(): Promise<ReaderKey | null> {
  try {
    return parseKey(await call("GET", "/api/me/recording-key"));
  } catch (e) {
    if (e instanceof ApiError && e.code === "no_key") return null;
    throw e;
  }
}

export async function setMyRecordingKey(publicKey: Uint8Array, signature?: Uint8Array): Promise<void> {
  await call("PUT", "/api/me/recording-key", signature ? { publicKey: toBase64(publicKey), signature: toBase64(signature) } : { publicKey: toBase64(publicKey) });
}

/** The recording key of the account with this email. */
export async function recordingKeyOf(email: string): Promise<ReaderKey> {
  return parseKey(await call("GET", `/api/recording-keys?email=${encodeURIComponent(email)}`));
}

/** Whom a recording of this meeting is wrapped for (the server's suggestion: check the fingerprints), and who has no key. */
export async function suggestedReaders(meeting: string): Promise<{ readers: ReaderKey[]; missing: string[] }> {
  const o = obj(await call("GET", `/api/recordings/readers?meeting=${encodeURIComponent(meeting)}`));
  return { readers: list(o, "readers").map(parseKey), missing: list(o, "missing").map((m) => String(m)) };
}

export async function createRecording(meeting: string, e2ee: boolean): Promise<RecordingInfo> {
  return parseRecording(obj(await call("POST", "/api/recordings", { meeting, e2ee })).recording);
}

export async function addReader(id: string, account: string, wrappedKey: Uint8Array): Promise<void> {
  await call("POST", `/api/recordings/${encodeURIComponent(id)}/readers`, { account, wrappedKey: toBase64(wrappedKey) });
}

export async function listRecordings(): Promise<RecordingInfo[]> {
  return list(obj(await call("GET", "/api/recordings")), "recordings").map(parseRecording);
}

/** A recording with this account's wrapped key (null for a recorder who is not a reader) and the encrypted manifest (null while open). */
export async function getRecording(id: string): Promise<{ recording: RecordingInfo; wrappedKey: Uint8Array | null; manifest: Uint8Array | null; readers: string[] }> {
  const o = obj(await call("GET", `/api/recordings/${encodeURIComponent(id)}`));
  const bytes = (k: string): Uint8Array | null => (typeof o[k] === "string" ? fromBase64(o[k] as string) : null);
  return { recording: parseRecording(o.recording), wrappedKey: bytes("wrappedKey"), manifest: bytes("manifest"), readers: list(o, "readers").map((r) => String(r)) };
}

export async function finishRecording(id: string, chunks: number, manifest: Uint8Array): Promise<void> {
  await call("POST", `/api/recordings/${encodeURIComponent(id)}/finish`, { chunks, manifest: toBase64(manifest) });
}

export async function deleteRecording(id: string): Promise<void> {
  await call("DELETE", `/api/recordings/${encodeURIComponent(id)}`);
}

async function failed(res: Response): Promise<ApiError> {
  let code = "unavailable";
  let message = `The server answered ${res.status}.`;
  try {
    const e = (obj(await res.json()) as { error?: { code?: string; message?: string } }).error;
    if (e?.code) code = e.code;
    if (e?.message) message = e.message;
  } catch {
    // not JSON
  }
  return new ApiError(code, message, res.status);
}

/** Uploads encrypted chunk n; throws ApiError (status 0: no connection). */
export async function putChunk(id: string, n: number, data: Uint8Array): Promise<void> {
  let res: Response;
  try {
    res = await fetch(`/api/recordings/${encodeURIComponent(id)}/chunks/${n}`, {
      method: "PUT",
      credentials: "same-origin",
      headers: { "Content-Type": "application/octet-stream" },
      body: data as Uint8Array<ArrayBuffer>,
    });
  } catch {
    throw new ApiError("unavailable", "The server could not be reached.", 0);
  }
  if (!res.ok) throw await failed(res);
}

/** Downloads encrypted chunk n. */
export async function getChunk(id: string, n: number): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(`/api/recordings/${encodeURIComponent(id)}/chunks/${n}`, { credentials: "same-origin" });
  } catch {
    throw new ApiError("unavailable", "The server could not be reached.", 0);
  }
  if (!res.ok) throw await failed(res);
  return new Uint8Array(await res.arrayBuffer());
}

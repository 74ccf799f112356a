// Opening a recording in this browser: its wrapped key unwrapped with the
// recording key this browser holds, its chunks fetched and decrypted
// (crypto.ts refuses any reordered, swapped, changed or cut-off chunk),
// and the WebM put together as a Blob to play or save.

import { getChunk, getRecording } from "../api/recordings.js";
import { decryptManifest, decryptRecording, RecordingCryptoError, unwrapContentKey, type Manifest } from "./crypto.js";
import type { RecordingKeyPair } from "./crypto.js";

export interface OpenedRecording {
  blob: Blob;
  manifest: Manifest | null;
  contentKey: Uint8Array;
}

/** The recording's content key, unwrapped with this browser's key. */
export async function recordingKey(id: string, kp: RecordingKeyPair | null): Promise<{ key: Uint8Array; manifest: Manifest | null; chunks: number }> {
  const r = await getRecording(id);
  if (!r.wrappedKey) throw new RecordingCryptoError("This recording was not shared with your account's recording key.");
  if (!kp) throw new RecordingCryptoError("This browser does not hold your recording key: import it from your backup first.");
  const key = await unwrapContentKey(kp.privateKey, r.wrappedKey, id);
  const manifest = r.manifest ? await decryptManifest(key, id, r.manifest) : null;
  return { key, manifest, chunks: manifest?.chunks ?? r.recording.chunks };
}

/** Fetches and decrypts a whole recording. */
export async function openRecording(id: string, kp: RecordingKeyPair | null, progress?: (done: number, total: number) => void): Promise<OpenedRecording> {
  const { key, manifest, chunks } = await recordingKey(id, kp);
  const sealed: Uint8Array[] = [];
  for (let n = 0; n < chunks; n++) {
    sealed.push(await getChunk(id, n));
    progress?.(n + 1, chunks);
  }
  const plain = await decryptRecording(key, id, sealed, manifest);
  const type = (manifest?.mimeType ?? "video/webm").split(";")[0] ?? "video/webm";
  return { blob: new Blob(plain as Uint8Array<ArrayBuffer>[], { type }), manifest, contentKey: key };
}

/**
 * Plays a MediaRecorder WebM, which carries no duration: seeks far past
 * the end once so that the browser works it out, then back to the start.
 * Resolves with the duration.
 */
export function loadWithDuration(video: HTMLVideoElement, url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    video.onerror = () => reject(new Error("This browser could not decode the recording."));
    video.onloadedmetadata = () => {
      if (Number.isFinite(video.duration)) {
        resolve(video.duration);
        return;
      }
      video.ontimeupdate = () => {
        if (!Number.isFinite(video.duration)) return;
        video.ontimeupdate = null;
        video.currentTime = 0;
        resolve(video.duration);
      };
      video.currentTime = Number.MAX_SAFE_INTEGER;
    };
    video.src = url;
  });
}

// /recordings: the account's recordings and those shared with it, and its
// recording key in this browser. Playing or downloading fetches the
// encrypted chunks and decrypts them here (../recording/player.ts); the
// server cannot. A recording the server made (kind "server", only of a
// meeting without end-to-end encryption) is plain WebM, said so in its
// line, fetched as it is and never shared by key
// (../recording/server-recording.ts). Sharing wraps the recording's key
// for another account's recording key, after showing its fingerprint.
// The key card makes the key, exports it as a passphrase-sealed backup
// file, and imports one on another device (../recording/keys.ts says what
// that protects and not).

import { asApiError } from "../api/http.js";
import { addReader, deleteRecording, listRecordings, myRecordingKey, recordingKeyOf, setMyRecordingKey, type RecordingInfo } from "../api/recordings.js";
import { showScreen } from "../app.js";
import { equalBytes } from "../e2ee/bytes.js";
import { openIndexedDBStore } from "../e2ee/identity-store.js";
import { formatWhen } from "../lib/datetime.js";
import type { RecordingKeyPair } from "../recording/crypto.js";
import { wrapContentKey } from "../recording/crypto.js";
import { exportBackup, importBackup, loadPins, pinStatus, RECORDING_DB, RecordingKeyStore, recordingKeyFingerprint, savePins } from "../recording/keys.js";
import { loadWithDuration, openRecording, recordingKey } from "../recording/player.js";
import { openServerRecording, SERVER_RECORDS } from "../recording/server-recording.js";
import { openDialog } from "../ui/dialog.js";
import { el, replace, show } from "../ui/dom.js";
import { errorLine, field, setError, statusLine } from "../ui/forms.js";
import { accountPage } from "../ui/header.js";
import { openPage } from "./signedin.js";

export async function showRecordings(): Promise<void> {
  const me = await openPage("recordings", "Recordings · Kaigi", true, () => void showRecordings());
  if (!me) return;
  const store = new RecordingKeyStore(await openIndexedDBStore(RECORDING_DB));
  const page = accountPage("recordings", me, el("h1", { text: "Recordings" }));
  const body = page.querySelector(".page-body")!;
  const keyCard = el("section", { id: "recording-key", class: "card", attrs: { "aria-labelledby": "recording-key-title" } });
  const listCard = el("section", { id: "recordings-list", class: "card", attrs: { "aria-labelledby": "recordings-title" } });
  const player = el("video", { id: "recording-player", attrs: { controls: true, playsinline: true } });
  const playerCard = el("section", { id: "recording-play", class: "card", attrs: { hidden: true } }, player);
  const error = errorLine("recording-error");
  body.append(keyCard, error, playerCard, listCard);
  showScreen(page, false);

  let kp = await store.load();
  const reload = async (): Promise<void> => {
    kp = await store.load();
    await Promise.all([renderKey(), renderList()]);
    page.dataset.loaded = "true";
  };

  async function renderKey(): Promise<void> {
    const remote = await myRecordingKey().catch(() => null);
    const status = statusLine("recording-key-status");
    const parts: (HTMLElement | null)[] = [el("h2", { id: "recording-key-title", text: "Your recording key" })];
    if (kp && remote && equalBytes(kp.publicKey, remote.publicKey)) {
      parts.push(el("p", {}, "This browser holds your recording key. Its fingerprint: ", el("code", { id: "recording-key-fingerprint", text: await recordingKeyFingerprint(kp.publicKey) })));
      parts.push(el("p", { class: "hint", text: "Someone recording for you, or sharing a recording with you, sees this fingerprint: compare it with them." }));
    } else if (remote) {
      parts.push(el("p", { text: "This browser does not hold your recording key (it was made in another browser). Import it from your backup, or make a new one: recordings made for the old key then open only where it is." }));
    } else {
      parts.push(el("p", { text: "You have no recording key yet. Make one to record meetings and to open recordings made for you." }));
    }
    const make = el("button", { id: "recording-key-make", class: "button", text: kp ? "Make a new key" : "Make a recording key", attrs: { type: "button" } });
    make.onclick = () =>
      void (async () => {
        const fresh = kp && !remote ? kp : await store.create();
        await setMyRecordingKey(fresh.publicKey);
        await reload();
      })().catch((e) => setError(error, asApiError(e).message));
    const exp = el("button", { id: "recording-key-export", class: "button", text: "Export a backup", attrs: { type: "button" } });
    exp.onclick = () => void exportKey(kp, status);
    show(exp, kp !== null);
    const file = el("input", { id: "recording-key-file", attrs: { type: "file", accept: ".json,application/json" } });
    file.onchange = () => void importKey(file, status);
    parts.push(el("div", { class: "row" }, make, exp), el("label", { class: "hint", attrs: { for: file.id }, text: "Import a backup: " }), file, status);
    replace(keyCard, ...parts);
  }

  async function passphrase(title: string, confirmLabel: string): Promise<string | null> {
    const f = field({ id: "recording-passphrase", label: "Passphrase", type: "password", hint: "At least 10 characters. Without it the backup cannot be opened: Kaigi cannot recover it." });
    const ok = await openDialog(page, { id: "recording-passphrase-dialog", title, body: [f.root], confirm: { id: "recording-passphrase-ok", label: confirmLabel } });
    return ok ? f.input.value : null;
  }

  async function exportKey(pair: RecordingKeyPair | null, status: HTMLElement): Promise<void> {
    if (!pair) return;
    const pass = await passphrase("Export your recording key", "Export");
    if (pass === null) return;
    try {
      const text = await exportBackup(pair, pass);
      const a = el("a", { attrs: { href: URL.createObjectURL(new Blob([text], { type: "application/json" })), download: "kaigi-recording-key.json" } });
      a.click();
      status.textContent = "Backup saved. Keep it and its passphrase apart.";
    } catch (e) {
      setError(error, asApiError(e, e instanceof Error ? e.message : undefined).message);
    }
  }

  async function importKey(input: HTMLInputElement, status: HTMLElement): Promise<void> {
    const f = input.files?.[0];
    if (!f) return;
    const pass = await passphrase("Import your recording key", "Import");
    if (pass === null) return;
    try {
      const pair = await importBackup(await f.text(), pass);
      await store.save(pair);
      const remote = await myRecordingKey();
      if (!remote || !equalBytes(remote.publicKey, pair.publicKey)) await setMyRecordingKey(pair.publicKey);
      status.textContent = "Key imported.";
      await reload();
    } catch (e) {
      setError(error, e instanceof Error ? e.message : "The backup could not be imported.");
    }
  }

  async function renderList(): Promise<void> {
    let recs: RecordingInfo[];
    try {
      recs = await listRecordings();
    } catch (e) {
      replace(listCard, el("p", { class: "error", text: asApiError(e, "The recordings could not be loaded.").message }));
      return;
    }
    replace(
      listCard,
      el("h2", { id: "recordings-title", text: "Recordings you made or that were shared with you" }),
      recs.length === 0
        ? el("p", { id: "recordings-none", class: "hint", text: "No recording yet. A host or co-host records from the meeting's “More” menu." })
        : el("ul", { class: "plain-list" }, ...recs.map(item)),
    );
  }

  function item(r: RecordingInfo): HTMLElement {
    const server = r.kind === "server";
    const by = server ? `${SERVER_RECORDS}, started by ${r.mine ? "you" : r.recorderName || r.recorder}; not end-to-end encrypted: the server can play it` : `recorded by ${r.mine ? "you" : r.recorderName || r.recorder}`;
    const line = `Meeting ${r.meeting}, ${formatWhen(r.startedAt)}; ${(r.bytes / 1e6).toFixed(1)} MB; ${by}${r.finishedAt ? "" : " (not finished)"}${r.e2ee ? "; end-to-end encrypted meeting" : ""}.`;
    const button = (action: string, text: string, run: () => Promise<void>, danger = false): HTMLButtonElement =>
      el("button", {
        class: danger ? "button small danger" : "button small",
        text,
        attrs: { type: "button", "data-action": action },
        on: {
          click: () => {
            setError(error, null);
            void run().catch((e: unknown) => setError(error, e instanceof Error ? e.message : "That did not work."));
          },
        },
      });
    // A browser's recording is decrypted here; the server's is plain WebM.
    const open = async (): Promise<{ blob: Blob; durationMs: number }> => {
      if (server) return openServerRecording(r.id);
      const opened = await openRecording(r.id, kp);
      return { blob: opened.blob, durationMs: opened.manifest?.durationMs ?? 0 };
    };
    const play = button("play", "Play", async () => {
      const opened = await open();
      show(playerCard, true);
      playerCard.dataset.recording = r.id;
      const duration = await loadWithDuration(player, URL.createObjectURL(opened.blob));
      player.dataset.duration = String(duration);
      player.dataset.recorded = String(opened.durationMs / 1000);
    });
    const download = button("download", "Download", async () => {
      const opened = await open();
      el("a", { attrs: { href: URL.createObjectURL(opened.blob), download: `kaigi-recording-${r.startedAt.slice(0, 10)}.webm` } }).click();
    });
    // A server recording has no key to wrap for anyone.
    const share = server ? null : button("share", "Share", () => shareWith(r));
    const del = button(
      "delete",
      "Delete",
      async () => {
        const ok = await openDialog(page, {
          id: "recording-delete-dialog",
          title: "Delete this recording?",
          body: [el("p", { text: server ? "The server's recording is deleted. This cannot be undone." : "Its encrypted contents go from the server for everyone it was shared with. This cannot be undone." })],
          confirm: { id: "recording-delete-confirm", label: "Delete", danger: true },
        });
        if (!ok) return;
        await deleteRecording(r.id);
        await renderList();
      },
      true,
    );
    return el("li", { class: "recording", attrs: { "data-recording": r.id, "data-kind": r.kind } }, el("p", { text: line }), el("div", { class: "row" }, play, download, share, r.mine ? del : null));
  }

  async function shareWith(r: RecordingInfo): Promise<void> {
    const f = field({ id: "recording-share-email", label: "Their email", type: "email" });
    if (!(await openDialog(page, { id: "recording-share-dialog", title: "Share this recording", body: [f.root], confirm: { id: "recording-share-next", label: "Next" } }))) return;
    const reader = await recordingKeyOf(f.input.value.trim());
    const fp = await recordingKeyFingerprint(reader.publicKey);
    const pins = loadPins();
    const changed = pinStatus(pins, reader.account, fp) === "changed";
    const ok = await openDialog(page, {
      id: "recording-share-confirm-dialog",
      title: `Share with ${reader.name || reader.account}?`,
      body: [
        el("p", {}, "Their recording key's fingerprint: ", el("code", { id: "recording-share-fingerprint", text: fp })),
        changed ? el("p", { class: "error", text: "This key changed since you last shared with them: compare the fingerprint with them before you go on." }) : null,
        el("p", { class: "hint", text: "Compare it with the one on their Recordings page: a server could hand out a key of its own." }),
      ],
      confirm: { id: "recording-share-confirm", label: "Share" },
    });
    if (!ok) return;
    const { key } = await recordingKey(r.id, kp);
    await addReader(r.id, reader.account, await wrapContentKey(reader.publicKey, key, r.id));
    pins[reader.account] = fp;
    savePins(pins);
    setError(error, null);
  }

  await reload();
}

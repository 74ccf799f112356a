// Recording in the meeting screen (docs/protocol.md, "Recording"): for
// everyone, the indicator that stays while the meeting is recorded, with
// who records and a way to leave, and a notice when it starts or when one
// joins a meeting being recorded; for a signed-in host or co-host, "Start
// recording" and "Stop recording" in the "More" menu. Starting shows whom
// the recording will be readable by, with each key's fingerprint (and a
// warning if one changed since this browser last used it), creates the
// recording, wraps its content key for them, and asks the server to tell
// everyone; only when the server says this participant records does the
// browser go on: in an end-to-end encrypted meeting it then commits the
// recording state to the MLS group and records (recorder.ts) only once
// that commit is applied (gate.ts). The indicator is on when the server or
// the group says someone records (indicator.ts): a server that hides the
// `recording` message from some people does not hide the group's state.
// The server never gets the content key.

import { asApiError } from "../api/http.js";
import { addReader, createRecording, deleteRecording, finishRecording, myRecordingKey, putChunk, setMyRecordingKey, suggestedReaders, type ReaderKey } from "../api/recordings.js";
import { openIndexedDBStore } from "../e2ee/identity-store.js";
import { equalBytes } from "../e2ee/bytes.js";
import { deviceIdentity } from "../meeting/secure.js";
import type { MeetingSession, SessionView } from "../meeting/session.js";
import type { RecordingState } from "../meeting/protocol.js";
import { openDialog } from "../ui/dialog.js";
import { el, replace, show } from "../ui/dom.js";
import type { MenuItem } from "../ui/menu.js";
import { newContentKey, wrapContentKey } from "./crypto.js";
import { RecordingGate } from "./gate.js";
import { checkReaderKey, signedByDevice, signRecordingKey } from "./key-signature.js";
import { recordingIndicator } from "./indicator.js";
import { loadPins, pinStatus, RECORDING_DB, RecordingKeyStore, recordingKeyFingerprint, savePins } from "./keys.js";
import { MeetingRecorder, recordingMimeType } from "./recorder.js";
import { serverIndicatorText, serverNotice, serverRecordItem, serverStopItem, showsServerRecording, startServerRecording } from "./server-recording.js";
import { ChunkUploader } from "./uploader.js";

export interface RecordingDeps {
  session: MeetingSession;
  /** The meeting screen: the indicator goes first in it, dialogs in it. */
  root: HTMLElement;
  /** Where the videos on screen are. */
  gallery: HTMLElement;
  addMenuItems(source: () => MenuItem[]): void;
  notice(text: string): void;
  leave(): void;
}

/** Hooks recording into a meeting screen: `view.recordingChanged` shows the server's word. */
export function attachRecording(view: SessionView, deps: RecordingDeps): InMeetingRecording {
  const r = new InMeetingRecording(deps);
  view.recordingChanged = (m) => r.changed(m);
  return r;
}

/** This page's own recording, kept across meeting screens (a new screen after a move or a rejoin still stops it). */
interface Mine {
  id: string;
  recorder: MeetingRecorder | null;
  stopping: boolean;
  /** When the group lets this browser record (null until the server agreed). */
  gate: RecordingGate | null;
  /** The gate's periodic check. */
  timer: number;
}
let current: Mine | null = null;
/** The content key and format of the recording this page is about to start, until the server says it records. */
let pending: { key: Uint8Array; mime: string } | null = null;

export class InMeetingRecording {
  /** The indicator (#recording-indicator): shown while anyone records. */
  readonly indicator: HTMLDivElement;
  private state: RecordingState | null = null;
  private starting = false;
  private shownOn = false;
  /** This browser's recording key was checked for its device's signature in this meeting. */
  private keySigned = false;

  constructor(private readonly d: RecordingDeps) {
    this.indicator = el("div", { id: "recording-indicator", class: "encryption-banner", attrs: { role: "status", "data-kind": "recording", hidden: true } });
    d.root.prepend(this.indicator);
    d.addMenuItems(() => this.menuItems());
    d.session.secure?.groupListeners.add(() => {
      this.render();
      if (!this.keySigned && this.group()?.inGroup && this.ownAccount()) {
        this.keySigned = true;
        void this.signHeldKey().catch((e: unknown) => console.warn("kaigi: recording key signature:", e));
      }
      void this.mine?.gate?.check().catch((e: unknown) => console.warn("kaigi: recording state:", e));
    });
  }

  /** The meeting's MLS group, when the meeting is end-to-end encrypted. */
  private group(): NonNullable<MeetingSession["secure"]> | null {
    const s = this.d.session;
    return s.e2ee && s.secure ? s.secure : null;
  }

  private get mine(): Mine | null {
    return current;
  }

  private set mine(m: Mine | null) {
    current = m;
    document.body.dataset.recorder = m ? (m.recorder ? "recording" : "starting") : "";
  }

  private menuItems(): MenuItem[] {
    const s = this.d.session;
    if (s.role !== "host" && s.role !== "cohost") return [];
    if (this.mine) return [{ action: "record", id: "menu-record", label: "Stop recording", run: () => this.stopMine(true) }];
    if (this.state?.on && this.state.server) return serverStopItem(s, this.state);
    if (this.state?.on || this.shownOn) return [];
    return [
      { action: "record", id: "menu-record", label: "Start recording", title: "Record this meeting in this browser, encrypted for the accounts allowed to read it", run: () => void this.start() },
      ...serverRecordItem(s, () => void startServerRecording(s, this.d.root).catch((e: unknown) => this.d.notice(`The recording could not start: ${asApiError(e).message}`))),
    ];
  }

  /** The server's recording message. */
  changed(m: RecordingState): void {
    this.state = m;
    this.render();
    const self = this.d.session.selfId;
    const mine = this.mine;
    if (m.on && m.by === self && mine && mine.id === m.recording && !mine.gate) {
      mine.gate = new RecordingGate(this.group(), {
        start: () => this.begin(),
        pause: () => {
          mine.recorder?.pause();
          this.indicator.setAttribute("data-paused", "true");
        },
        resume: () => {
          mine.recorder?.resume();
          this.indicator.removeAttribute("data-paused");
        },
      });
      const gate = mine.gate;
      void gate.begin(mine.id).catch((e: unknown) => console.warn("kaigi: recording state:", e));
      // Until the group's state is cleared after the stop (a commit that
      // lost to another is made again), whatever becomes of this screen.
      mine.timer = window.setInterval(() => {
        if (gate.idle) window.clearInterval(mine.timer);
        else void gate.check().catch(() => {});
      }, 2_000);
    }
    if (!m.on && mine) this.stopMine(false);
  }

  /** Shows what the server and the group say (indicator.ts), with a notice when it turns on or off. */
  private render(): void {
    const g = this.group();
    const ind = recordingIndicator(this.state, g?.recording() ?? null, g?.members() ?? [], this.d.session.selfId);
    const was = this.shownOn;
    this.shownOn = ind.on;
    document.body.dataset.recording = ind.on ? "on" : "off";
    document.body.dataset.recordingId = ind.recording;
    document.body.dataset.recordingSource = ind.source ?? "";
    // The server records (serverrec): it says so itself; a group's word is a browser's.
    const byServer = ind.on && showsServerRecording(this.state, ind.source, this.d.session.e2ee);
    document.body.dataset.recordingServer = byServer ? "true" : "";
    if (ind.on) {
      const who = ind.self ? "You are" : `${ind.name || "Someone"} is`;
      // Our own recording stopped, and the group is told within 30 s (gate.ts).
      const clearing = ind.self && ind.source === "group" && !this.mine;
      const text = byServer
        ? serverIndicatorText(ind.name, ind.self)
        : clearing
          ? "Your recording stopped. The others' screens show it until the meeting's encrypted group is told, within 30 seconds."
          : `Recording. ${who} recording this meeting: what you say and show is recorded, encrypted for the accounts allowed to read it.`;
      replace(
        this.indicator,
        el("span", { class: "recording-dot", attrs: { "aria-hidden": "true" }, text: "●" }),
        el("span", { class: "encryption-banner-text", text }),
        ind.self ? null : el("button", { id: "recording-leave", class: "button small", text: "Leave the meeting", attrs: { type: "button" }, on: { click: () => this.d.leave() } }),
      );
      show(this.indicator, true);
      if (!was && !ind.self) this.d.notice(byServer ? serverNotice(ind.name) : `${ind.name || "Someone"} is recording this meeting. If you do not agree, you may leave.`);
      if (!was && ind.self && byServer) this.d.notice("The server is recording this meeting. Everyone in the meeting is told.");
    } else {
      show(this.indicator, false);
      if (was && !this.mine) this.d.notice("The recording stopped.");
    }
  }

  /** The account this browser is signed in to in the meeting ("" for a guest). */
  private ownAccount(): string {
    return this.d.session.roster.get(this.d.session.selfId ?? "")?.account ?? "";
  }

  /** Makes sure this browser and the server hold the same recording key, signed by this device; null (with a notice) if not. */
  private async ownKey(): Promise<ReaderKey | null> {
    const store = new RecordingKeyStore(await openIndexedDBStore(RECORDING_DB));
    const [local, remote] = await Promise.all([store.load(), myRecordingKey()]);
    if (local && remote && equalBytes(local.publicKey, remote.publicKey)) return this.signKey(remote);
    if (remote && !local) {
      this.d.notice("This browser does not hold your recording key. Open Recordings to import it from your backup, or to make a new one.");
      return null;
    }
    const kp = local ?? (await store.create());
    await setMyRecordingKey(kp.publicKey);
    const set = await myRecordingKey();
    return set ? this.signKey(set) : null;
  }

  /**
   * Signs our recording key on the server with this device's identity
   * (key-signature.ts), unless this device signed it already: in an
   * end-to-end encrypted meeting only, where the device is in the group
   * that recorders check signatures against.
   */
  private async signKey(remote: ReaderKey): Promise<ReaderKey> {
    const account = this.ownAccount();
    if (!this.group() || !account) return remote;
    const { identity } = await deviceIdentity();
    if (await signedByDevice(remote.signature, identity, remote.publicKey, account)) return remote;
    await setMyRecordingKey(remote.publicKey, await signRecordingKey(identity, remote.publicKey, account));
    return (await myRecordingKey()) ?? remote;
  }

  /** Once in the meeting's group: signs the recording key this browser holds, if it is the account's key on the server. */
  private async signHeldKey(): Promise<void> {
    const store = new RecordingKeyStore(await openIndexedDBStore(RECORDING_DB));
    const [local, remote] = await Promise.all([store.load(), myRecordingKey()]);
    if (local && remote && equalBytes(local.publicKey, remote.publicKey)) await this.signKey(remote);
  }

  private async start(): Promise<void> {
    if (this.starting || this.mine) return;
    const mime = recordingMimeType();
    if (mime === null) {
      this.d.notice("This browser cannot record (no WebM MediaRecorder).");
      return;
    }
    this.starting = true;
    try {
      if ((await this.ownKey()) === null) return;
      const { readers, missing } = await suggestedReaders(this.d.session.meetingId);
      const pins = loadPins();
      const members = this.group()?.members() ?? [];
      const rows = await Promise.all(
        readers.map(async (r) => {
          const fp = await recordingKeyFingerprint(r.publicKey);
          return { r, fp, signed: await checkReaderKey(r, members), status: r.account === this.ownAccount() ? "same" : pinStatus(pins, r.account, fp) };
        }),
      );
      const ok = await openDialog(this.d.root, {
        id: "record-confirm",
        title: "Record this meeting?",
        body: [
          el("p", { text: "This browser records what it shows and plays, encrypts it, and uploads it. Everyone in the meeting is told. The recording can be opened only by:" }),
          el(
            "ul",
            { id: "record-readers" },
            ...rows.map(({ r, fp, status, signed }) =>
              el(
                "li",
                { attrs: { "data-status": status, "data-signature": signed } },
                `${r.name || r.account} — key `,
                el("code", { text: fp }),
                signed === "signed" ? " — signed by their browser in this meeting" : null,
                signed === "unsigned" ? el("strong", { text: " — not signed by their browser in this meeting: the server may have swapped it; compare the fingerprint with them before you go on." }) : null,
                status === "changed" ? el("strong", { text: " — this key changed since you last recorded for them: compare it with them before you go on." }) : null,
              ),
            ),
          ),
          missing.length > 0 ? el("p", { class: "hint", text: `${missing.length} other account(s) that could read it have no recording key yet: share it with them later from Recordings.` }) : null,
          el("p", { class: "hint", text: "Compare a fingerprint with its owner (it is on their Recordings page) to be sure the server did not slip in a key of its own." }),
        ],
        confirm: { id: "record-confirm-start", label: "Start recording" },
      });
      if (!ok) return;
      const rec = await createRecording(this.d.session.meetingId, this.d.session.e2ee);
      const key = newContentKey();
      for (const { r, fp } of rows) {
        await addReader(rec.id, r.account, await wrapContentKey(r.publicKey, key, rec.id));
        pins[r.account] = fp;
      }
      savePins(pins);
      this.mine = { id: rec.id, recorder: null, stopping: false, gate: null, timer: 0 };
      pending = { key, mime };
      this.d.session.host.record(true, rec.id);
      // The server answers with `recording` (changed → the gate commits the
      // state to the group → begin) or an error the session shows. If the
      // recorder has not started by then, nothing is recorded: the server
      // is told, the group's state cleared and the empty recording goes.
      window.setTimeout(() => {
        const mine = this.mine;
        if (mine?.id === rec.id && !mine.recorder) {
          this.mine = null;
          pending = null;
          if (this.state?.on && this.state.by === this.d.session.selfId) this.d.session.host.record(false, "");
          void mine.gate?.end().catch(() => {});
          if (mine.gate) this.d.notice("The recording did not start: the meeting's encrypted group did not take its state in time.");
          void deleteRecording(rec.id).catch(() => {});
        }
      }, 15_000);
    } catch (e) {
      this.d.notice(`The recording could not start: ${asApiError(e).message}`);
    } finally {
      this.starting = false;
    }
  }

  private begin(): void {
    const mine = this.mine;
    const pk = pending;
    if (!mine || !pk) return;
    pending = null;
    const uploader = new ChunkUploader({
      put: (n, data) => putChunk(mine.id, n, data),
      retrying: () => this.indicator.setAttribute("data-upload", "retrying"),
      resumed: () => this.indicator.removeAttribute("data-upload"),
    });
    const videos = (): HTMLVideoElement[] => [...this.d.gallery.querySelectorAll("video")];
    const audio = (): MediaStreamTrack[] => {
      const remote = this.d.session.remoteTracks().filter((t) => t.kind === "audio").map((t) => t.track);
      const mic = this.d.session.media.mic;
      return mic ? [...remote, mic] : remote;
    };
    mine.recorder = new MeetingRecorder(mine.id, pk.key, { videos, audio }, uploader, pk.mime);
    document.body.dataset.recorder = "recording";
    this.d.notice("Recording. Everyone in the meeting is told.");
  }

  /** Stops this browser's recording; tell: also ask the server to tell everyone. */
  private stopMine(tell: boolean): void {
    const mine = this.mine;
    if (!mine || mine.stopping) return;
    mine.stopping = true;
    if (tell) this.d.session.host.record(false, "");
    const rec = mine.recorder;
    if (!rec) {
      this.mine = null;
      void mine.gate?.end().catch(() => {});
      return;
    }
    const stopped = rec.stop((chunks, manifest) => finishRecording(mine.id, chunks, manifest));
    // The MediaRecorder is stopped (stop() does that first): now the group may hear that nobody records.
    void mine.gate?.end().catch(() => {});
    void stopped
      .then(
        () => {
          document.body.dataset.recordingSaved = mine.id;
          this.d.notice("The recording is saved, encrypted. Find it under Recordings.");
        },
        (e: unknown) => this.d.notice(`The recording could not be saved whole: ${asApiError(e).message}`),
      )
      .finally(() => {
        if (this.mine === mine) this.mine = null;
      });
  }
}

// The pre-join screen at /m/{id}: check that the meeting exists, then let the
// person pick a name, give the passcode if the invite link did not carry it,
// and check their camera, microphone and speaker before joining. Joining
// without a camera or microphone (to watch and listen) is always possible.
// A meeting that is not end-to-end encrypted says so here, and joining it is
// agreeing to send without; one the invite says is encrypted while the
// server says not is flagged before joining (meeting/send-policy.ts).

import { me as fetchMe, type Me } from "../api/accounts.js";
import { admissionTo, type Admission } from "../api/admission.js";
import { ApiError, asApiError } from "../api/http.js";
import { lookupMeeting, type Meeting } from "../api/meetings.js";
import { setState, showScreen } from "../app.js";
import { LocalMedia, listDevices, speakerSelectionSupported, type DeviceLists } from "../meeting/devices.js";
import type { MediaProblem } from "../lib/media-errors.js";
import { startMeeting } from "../meeting/meeting-screen.js";
import { TabResume } from "../meeting/resume.js";
import { SecureMeeting } from "../meeting/secure.js";
import { normalizeMeetingId } from "../lib/meetingid.js";
import { signInPath } from "../lib/navigation.js";
import { PASSCODE_MAX, cleanPasscode, fragmentHasPasscode, fragmentWithoutPasscode, readInvite } from "../lib/invite.js";
import { NAME_MAX, nameProblem } from "../meeting/protocol.js";
import { hueOf, initials } from "../meeting/roster.js";
import { SendPolicy } from "../meeting/send-policy.js";
import { redirectLine, redirectTarget } from "../meeting/region-redirect.js";
import { deviceId, forgetPasscode, forgetResume, loadName, loadPasscode, savePasscode, saveName } from "../lib/storage.js";
import { el, replace, setPressed, show } from "../ui/dom.js";
import { icon } from "../ui/icons.js";
import { LevelMeter } from "../ui/level.js";
import { brandPage, fatalScreen } from "../ui/screens.js";
import { blurToggle, fillDeviceSelect } from "../ui/device-settings.js";
import { blurFor, type BackgroundBlur } from "../meeting/background-blur.js";

/** Why the pre-join screen is shown again: the server refused the passcode. */
export interface PrejoinProblem {
  passcode: string;
}

/** Entry point for /m/{id}: `rawId` is the ID as written in the address. */
export async function showPrejoin(rawId: string, media: LocalMedia = new LocalMedia(), problem: PrejoinProblem | null = null): Promise<void> {
  setState("prejoin");
  document.title = "Join a meeting — Kaigi";
  // The invite link's passcode: keep it for this tab, and take it out of the
  // address bar (and so out of history and of screenshares of the tab). Its
  // E2EE marker stays, so a reload still knows.
  const invite = readInvite(location.hash);
  const linkHash = location.hash; // the whole link, for a region redirect
  const normalised = normalizeMeetingId(rawId);
  if (invite.passcode !== null && normalised !== null) savePasscode(normalised, invite.passcode);
  if (fragmentHasPasscode(location.hash)) history.replaceState(null, "", location.pathname + location.search + fragmentWithoutPasscode(location.hash));
  showScreen(
    brandPage("checking", "notice-page", el("p", { class: "notice-message", attrs: { role: "status" }, text: "Checking the meeting link…" })),
    false,
  );
  let meeting: Meeting;
  let account: Me | null;
  // Whether a host banned this browser, account or network, or a country
  // rule refuses this address: asked before anything turns the camera on.
  // Without an answer the join decides.
  const admitted: Admission = { banned: false, countryNotAllowed: null, regions: null, regionNotAllowed: null, regionRedirect: null };
  const admission = normalised !== null ? admissionTo(normalised, deviceId()).catch(() => admitted) : Promise.resolve(admitted);
  try {
    [meeting, account] = await Promise.all([lookupMeeting(rawId), fetchMe().catch(() => null)]);
  } catch (e) {
    setState("error");
    const err = e instanceof ApiError ? e : asApiError(e, "The meeting could not be checked.");
    const actions = err.code === "meeting_not_found" ? [] : [{ id: "retry", label: "Try again", run: () => void showPrejoin(rawId, media, problem) }];
    showScreen(fatalScreen(err.code === "meeting_not_found" ? "meeting_not_found" : "unavailable", err.message, actions));
    return;
  }
  const meetingId = meeting.id;
  if (location.pathname !== `/m/${meetingId}`) history.replaceState(null, "", `/m/${meetingId}${location.hash}`);
  if (problem !== null) forgetPasscode(meetingId);
  const { banned, countryNotAllowed, regions, regionNotAllowed, regionRedirect } = await admission;
  if (banned) {
    forgetResume(meetingId);
    setState("error");
    showScreen(fatalScreen("banned", "A host removed you from this meeting. You cannot rejoin it."));
    return;
  }
  // A country rule keeps out new joiners only: a reload of a tab that was
  // in the meeting resumes (the server admits a participant coming back),
  // and if that token is no longer good the join says the same sentence.
  if (countryNotAllowed !== null && (problem !== null || new TabResume(meetingId).initial === null)) {
    setState("error");
    showScreen(fatalScreen("country_not_allowed", countryNotAllowed));
    return;
  }
  // This server may not hold the meeting at all: nobody joins it here,
  // coming back included.
  if (regionNotAllowed !== null) {
    forgetResume(meetingId);
    setState("error");
    // A node inside the meeting's regions is up: the same link there.
    const to = redirectTarget(regionRedirect, { origin: location.origin, pathname: location.pathname, search: location.search, hash: linkHash });
    showScreen(fatalScreen("region_not_allowed", to === null ? regionNotAllowed : redirectLine(regions, to)));
    if (to !== null) location.assign(to);
    return;
  }
  const policy = new SendPolicy(meetingId, { link: invite.e2ee, announced: meeting.e2ee });
  const prejoin = new Prejoin(meeting, account, media, problem, policy, regions);
  // A reload of a tab that was in the meeting: straight back in, as the same participant.
  if (problem === null && prejoin.resume.initial !== null) {
    await prejoin.comeBack();
    return;
  }
  prejoin.show();
}

class Prejoin {
  private readonly root: HTMLElement;
  private readonly preview: HTMLVideoElement;
  private readonly previewOff: HTMLDivElement;
  private readonly previewInitials: HTMLSpanElement;
  private readonly micButton: HTMLButtonElement;
  private readonly cameraButton: HTMLButtonElement;
  private readonly error: HTMLDivElement;
  private readonly nameInput: HTMLInputElement;
  private readonly nameError: HTMLParagraphElement;
  /** The passcode field, when the meeting needs one and the link did not carry it. */
  private readonly passcodeInput: HTMLInputElement | null = null;
  private readonly passcodeError: HTMLParagraphElement;
  private readonly meetingId: string;
  /** The sign-in link, when the meeting is for signed-in people and this person is not. */
  private readonly signInFirst: HTMLAnchorElement | null = null;
  private readonly selects: { camera: HTMLSelectElement; microphone: HTMLSelectElement; speaker: HTMLSelectElement };
  private readonly level = new LevelMeter();
  /** Background blur, remembered; the preview shows its output, and the meeting sends it. */
  private readonly blur: BackgroundBlur;
  private readonly blurProblem = el("p", { id: "prejoin-blur-problem", class: "hint", attrs: { role: "status", hidden: true } });
  private readonly joinButton: HTMLButtonElement;
  private readonly joinError = el("p", { id: "join-error", class: "form-error", attrs: { role: "alert", hidden: true } });
  private problems: { mic: MediaProblem | null; camera: MediaProblem | null } = { mic: null, camera: null };
  private busy = false;
  /** The device operation under way (starting, toggling, switching), for join to wait on. */
  private deviceOp: Promise<void> = Promise.resolve();
  private done = false;
  /** This tab's resume token for the meeting (kept by the session from its first welcome). */
  readonly resume: TabResume;

  constructor(
    private readonly meeting: Meeting,
    private readonly account: Me | null,
    private readonly media: LocalMedia,
    problem: PrejoinProblem | null,
    private readonly policy: SendPolicy,
    regions: string[] | null = null,
  ) {
    const meetingId = meeting.id;
    this.meetingId = meetingId;
    this.resume = new TabResume(meetingId);
    this.preview = el("video", { id: "preview", class: "preview-video mirror", props: { muted: true, autoplay: true, playsInline: true } });
    this.preview.muted = true;
    this.preview.setAttribute("muted", "");
    this.preview.setAttribute("playsinline", "");
    this.previewInitials = el("span", { class: "avatar-initials" });
    this.previewOff = el(
      "div",
      { class: "preview-off" },
      el("div", { class: "tile-avatar" }, this.previewInitials),
      el("p", { text: "Your camera is off" }),
    );
    this.micButton = el("button", { id: "prejoin-mic", class: "control", attrs: { type: "button", "aria-label": "Microphone", "aria-pressed": "false" } });
    this.cameraButton = el("button", { id: "prejoin-camera", class: "control", attrs: { type: "button", "aria-label": "Camera", "aria-pressed": "false" } });
    this.micButton.addEventListener("click", () => (this.deviceOp = this.toggle("mic")));
    this.cameraButton.addEventListener("click", () => (this.deviceOp = this.toggle("camera")));

    this.error = el("div", { id: "prejoin-error", class: "media-error", attrs: { role: "alert" } });
    show(this.error, false);

    this.selects = {
      camera: el("select", { id: "select-camera" }),
      microphone: el("select", { id: "select-mic" }),
      speaker: el("select", { id: "select-speaker" }),
    };
    this.selects.camera.addEventListener("change", () => (this.deviceOp = this.chooseDevice("camera")));
    this.selects.microphone.addEventListener("change", () => (this.deviceOp = this.chooseDevice("microphone")));
    this.selects.speaker.addEventListener("change", () => {
      this.media.choose("speaker", this.selects.speaker.value || null);
    });
    this.blur = blurFor(media);
    this.blur.onChange = (problem) => {
      if (this.done) return;
      this.blurProblem.textContent = problem ?? "";
      this.blurProblem.hidden = problem === null;
      blurCheck?.refresh();
      this.render();
    };
    const blurCheck = blurToggle("prejoin-blur", { on: () => this.blur.enabled, set: (on) => this.blur.setEnabled(on), supported: this.blur.supported });

    this.nameInput = el("input", {
      id: "display-name",
      attrs: { type: "text", name: "name", autocomplete: "name", maxlength: NAME_MAX, required: true, "aria-describedby": "name-error" },
      // A signed-in person joins under their account's name (they may change it).
      props: { value: account && !account.twoFactorRequired ? account.user.name : loadName() },
    });
    this.nameInput.addEventListener("input", () => {
      this.nameError.hidden = true;
      this.nameInput.removeAttribute("aria-invalid");
      this.previewInitials.textContent = initials(this.nameInput.value);
    });
    this.nameError = el("p", { id: "name-error", class: "form-error", attrs: { role: "alert" } });
    show(this.nameError, false);
    this.joinButton = el("button", { id: "join", class: "button primary large", text: this.joinLabel, attrs: { type: "submit" } });

    // The owner never needs the passcode; others give it unless the invite link carried it.
    this.passcodeError = el("p", { id: "passcode-error", class: "form-error", attrs: { role: "alert" } });
    show(this.passcodeError, false);
    let passcodeBlock: HTMLElement | null = null;
    if (meeting.needsPasscode && !meeting.owner && (problem !== null || loadPasscode(meetingId) === null)) {
      this.passcodeInput = el("input", {
        id: "passcode",
        attrs: {
          type: "text",
          name: "passcode",
          inputmode: "numeric",
          autocomplete: "off",
          spellcheck: "false",
          maxlength: PASSCODE_MAX,
          required: true,
          "aria-describedby": "passcode-hint passcode-error",
        },
      });
      this.passcodeInput.addEventListener("input", () => {
        show(this.passcodeError, false);
        this.passcodeInput?.removeAttribute("aria-invalid");
      });
      passcodeBlock = el(
        "div",
        { class: "field passcode-field" },
        el("label", { attrs: { for: "passcode" }, text: "Meeting passcode" }),
        this.passcodeInput,
        el("p", { id: "passcode-hint", class: "hint field-hint", text: "The host's invitation has it. Invite links include it, so you only type it for a bare link." }),
        this.passcodeError,
      );
      if (problem !== null) {
        this.passcodeError.textContent = problem.passcode;
        show(this.passcodeError, true);
        this.passcodeInput.setAttribute("aria-invalid", "true");
      }
    }

    // A meeting for signed-in people: a guest is sent to sign in, and back here afterwards.
    const guest = account === null || account.twoFactorRequired;
    let signInBlock: HTMLElement | null = null;
    if (meeting.requireSignIn && guest && !meeting.owner) {
      signInBlock = el(
        "div",
        { id: "sign-in-required", class: "callout", attrs: { role: "note" } },
        el("p", {
          text:
            account?.twoFactorRequired === true
              ? "This meeting is for signed-in people only, and your organisation requires you to set up two-factor authentication first."
              : "This meeting is for signed-in people only.",
        }),
        el("a", {
          id: "prejoin-signin",
          class: "button primary",
          attrs: { href: account?.twoFactorRequired === true ? "/account" : signInPath(`/m/${meetingId}`) },
          text: account?.twoFactorRequired === true ? "Set up two-factor authentication" : "Sign in to join",
        }),
      );
      this.joinButton.hidden = true;
      this.signInFirst = signInBlock.querySelector("a");
    }

    // What the person should know about encryption before joining.
    let encryptionBlock: HTMLElement | null = null;
    if (!policy.expectsE2ee) {
      encryptionBlock = el(
        "div",
        { id: "not-encrypted-note", class: "callout warning-callout", attrs: { role: "note" } },
        el("p", { text: "This meeting is not end-to-end encrypted: the server can see and hear it." }),
      );
    } else if (!meeting.e2ee) {
      encryptionBlock = el(
        "div",
        { id: "e2ee-mismatch", class: "callout danger-callout", attrs: { role: "alert" } },
        el("p", { text: "Your invite says this meeting is end-to-end encrypted, but the server says it is not. If you join, your camera and microphone are not sent." }),
      );
    }

    const title = meeting.title || "Meeting";
    const form = el(
      "form",
      { class: "join-card", attrs: { novalidate: true } },
      el("h1", { text: "Ready to join?" }),
      el("p", { id: "meeting-title", class: "meeting-title-line", text: title }),
      el(
        "p",
        { class: "meeting-id-line" },
        meeting.host ? `Hosted by ${meeting.host} · ` : "",
        el("span", { class: "meeting-id", text: meetingId }),
      ),
      signInBlock,
      encryptionBlock,
      regions !== null && regions.length > 0
        ? el("p", { id: "prejoin-regions", class: "hint", text: `Held only on servers in ${regions.join(", ")}.` })
        : null,
      el("label", { attrs: { for: "display-name" }, text: "Your name" }),
      this.nameInput,
      this.nameError,
      el("p", { class: "hint", text: "Others in the meeting will see this name." }),
      passcodeBlock,
      this.joinButton,
      this.joinError,
    );
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      void this.join();
    });

    const previewCard = el(
      "section",
      { class: "preview-card", attrs: { "aria-label": "Camera and microphone check" } },
      el(
        "div",
        { class: "preview-box" },
        this.preview,
        this.previewOff,
        el("div", { class: "preview-controls" }, this.micButton, this.cameraButton),
      ),
      this.level.root,
      this.error,
      el(
        "div",
        { class: "device-selects" },
        field("select-camera", "Camera", this.selects.camera),
        field("select-mic", "Microphone", this.selects.microphone),
        field("select-speaker", "Speaker", this.selects.speaker),
        blurCheck?.root ?? null,
        this.blurProblem,
      ),
    );

    this.root = brandPage("prejoin", "prejoin", el("div", { class: "prejoin-grid" }, previewCard, form));
    this.root.addEventListener("pointerdown", () => this.level.resume());
    this.root.addEventListener("keydown", () => this.level.resume());
  }

  show(): void {
    setState("prejoin");
    showScreen(this.root);
    this.previewInitials.textContent = initials(this.nameInput.value);
    this.previewOff.style.setProperty("--hue", String(hueOf(this.nameInput.value || "self")));
    if (this.nameInput.value === "") this.nameInput.focus();
    else if (this.passcodeInput) this.passcodeInput.focus();
    navigator.mediaDevices?.addEventListener?.("devicechange", this.onDeviceChange);
    this.deviceOp = this.startDevices();
  }

  private async startDevices(): Promise<void> {
    this.busy = true;
    this.render();
    // A rejoin after "change name" may still have tracks running.
    const wantMic = this.media.mic === null;
    const wantCamera = this.media.camera === null;
    const p = await this.media.startBoth(wantMic, wantCamera);
    if (this.done) return;
    this.problems = p;
    this.busy = false;
    this.render();
    await this.refreshDevices();
  }

  private async toggle(what: "mic" | "camera"): Promise<void> {
    if (this.busy) return;
    const on = what === "mic" ? this.media.mic !== null : this.media.camera !== null;
    if (on) {
      if (what === "mic") this.media.stopMic();
      else this.media.stopCamera();
    } else {
      this.busy = true;
      this.render();
      const problem = what === "mic" ? await this.media.startMic() : await this.media.startCamera();
      this.busy = false;
      if (this.done) return;
      this.problems[what] = problem;
      await this.refreshDevices();
    }
    this.render();
  }

  private async chooseDevice(kind: "camera" | "microphone"): Promise<void> {
    const id = this.selects[kind].value || null;
    this.media.choose(kind, id);
    const running = kind === "camera" ? this.media.camera : this.media.mic;
    if (!running || this.busy) return;
    this.busy = true;
    const problem = kind === "camera" ? await this.media.startCamera(true) : await this.media.startMic(true);
    this.busy = false;
    if (this.done) return;
    this.problems[kind === "camera" ? "camera" : "mic"] = problem;
    this.render();
  }

  private render(): void {
    const m = this.media;
    setPressed(this.micButton, m.mic !== null);
    this.micButton.classList.toggle("off", m.mic === null);
    this.micButton.title = m.mic ? "Turn off the microphone" : "Turn on the microphone";
    replace(this.micButton, icon(m.mic ? "mic" : "micOff"));
    setPressed(this.cameraButton, m.camera !== null);
    this.cameraButton.classList.toggle("off", m.camera === null);
    this.cameraButton.title = m.camera ? "Turn off the camera" : "Turn on the camera";
    replace(this.cameraButton, icon(m.camera ? "camera" : "cameraOff"));
    for (const b of [this.micButton, this.cameraButton]) {
      if (this.busy) b.setAttribute("aria-busy", "true");
      else b.removeAttribute("aria-busy");
    }

    const camera = this.blur.output(m.camera);
    if (camera) {
      const current = this.preview.srcObject instanceof MediaStream ? this.preview.srcObject.getVideoTracks()[0] : undefined;
      if (current !== camera) {
        this.preview.srcObject = new MediaStream([camera]);
        this.preview.play().catch(() => {});
      }
    } else {
      this.preview.srcObject = null;
    }
    show(this.preview, m.camera !== null);
    show(this.previewOff, m.camera === null);
    this.level.attach(m.mic);

    // The problems of devices that now work are gone; a refusal wins over a missing device.
    const problems = [m.mic ? null : this.problems.mic, m.camera ? null : this.problems.camera].filter((x) => x !== null);
    if (problems.length === 0) {
      show(this.error, false);
      this.error.removeAttribute("data-code");
    } else {
      const first = problems.find((p) => p.code === "media_denied") ?? problems[0]!;
      this.error.dataset.code = first.code;
      replace(this.error, ...[...new Set(problems.map((p) => p.message))].map((t) => el("p", { text: t })));
      show(this.error, true);
    }
  }

  private readonly onDeviceChange = (): void => {
    void this.refreshDevices();
  };

  private async refreshDevices(): Promise<void> {
    const lists = await listDevices();
    if (this.done) return;
    this.fillSelects(lists);
  }

  private fillSelects(lists: DeviceLists): void {
    const m = this.media;
    fillDeviceSelect(this.selects.camera, lists.cameras, m.deviceOf("camera") ?? m.prefs.camera, "No camera found");
    fillDeviceSelect(this.selects.microphone, lists.microphones, m.deviceOf("microphone") ?? m.prefs.microphone, "No microphone found");
    if (speakerSelectionSupported) {
      fillDeviceSelect(this.selects.speaker, lists.speakers, m.prefs.speaker, "System default", true);
    } else {
      replace(this.selects.speaker, el("option", { text: "System default", props: { value: "" } }));
      this.selects.speaker.disabled = true;
      this.selects.speaker.title = "This browser does not let web pages choose the speaker";
    }
  }

  /** Joining a meeting that is not end-to-end encrypted is agreeing to send without: the button says so. */
  private get joinLabel(): string {
    return this.policy.expectsE2ee ? "Join now" : "Join without encryption";
  }

  /** Says why joining cannot go ahead, under the join button. */
  private showJoinProblem(text: string): void {
    this.joinError.textContent = text;
    show(this.joinError, true);
  }

  private async join(): Promise<void> {
    if (this.signInFirst) {
      // The server would refuse a guest: send them to sign in instead.
      this.signInFirst.focus();
      return;
    }
    const name = this.nameInput.value.trim();
    const problem = nameProblem(name);
    if (problem) {
      this.nameError.textContent = problem;
      show(this.nameError, true);
      this.nameInput.setAttribute("aria-invalid", "true");
      this.nameInput.focus();
      return;
    }
    let passcode = this.meeting.owner ? null : loadPasscode(this.meetingId);
    if (this.passcodeInput) {
      passcode = cleanPasscode(this.passcodeInput.value);
      if (passcode === "") {
        this.passcodeError.textContent = "Type the meeting's passcode. It is in the host's invitation.";
        show(this.passcodeError, true);
        this.passcodeInput.setAttribute("aria-invalid", "true");
        this.passcodeInput.focus();
        return;
      }
    }
    if (this.done || this.joinButton.disabled) return;
    await this.enter(name, passcode);
  }

  /**
   * Back into the meeting after a reload, without the form: the devices
   * that were on, the name and passcode this tab used, and the kept resume
   * token in hello. Shows the form if that cannot be done.
   */
  async comeBack(): Promise<void> {
    showScreen(brandPage("rejoining", "notice-page", el("p", { class: "notice-message", attrs: { role: "status" }, text: "Rejoining the meeting…" })), false);
    const name = this.nameInput.value.trim();
    if (nameProblem(name) !== null) {
      this.resume.forget();
      this.show();
      return;
    }
    const was = this.resume.media ?? { audio: false, video: false };
    const p = await this.media.startBoth(was.audio, was.video);
    const notices = [...new Set([p.mic, p.camera].filter((x) => x !== null).map((x) => x.message))];
    if (!(await this.enter(name, this.meeting.owner ? null : loadPasscode(this.meetingId), notices))) {
      this.resume.forget();
      this.show();
    }
  }

  /** Joins with what the person chose; false if this browser cannot join the meeting (the reason is shown). */
  private async enter(name: string, passcode: string | null, notices: string[] = []): Promise<boolean> {
    if (this.busy) {
      // Join with the camera and microphone the person sees starting, not
      // without them because the click came first.
      this.joinButton.disabled = true;
      this.joinButton.textContent = "Starting your camera and microphone…";
      while (this.busy) await this.deviceOp;
      if (this.done) return true;
    }
    // End-to-end encryption: this device's key and a KeyPackage for hello.
    let secure: SecureMeeting | null = null;
    if (SecureMeeting.supported()) {
      const signedIn = this.account !== null && !this.account.twoFactorRequired ? this.account.user.id : "";
      secure = await SecureMeeting.prepare(this.meetingId, signedIn).catch((e: unknown) => {
        console.warn("kaigi: end-to-end encryption unavailable:", e);
        return null;
      });
    }
    if (secure === null && this.policy.expectsE2ee) {
      // Never join such a meeting with media in clear, whatever the server says.
      this.joinButton.disabled = false;
      this.joinButton.textContent = this.joinLabel;
      this.showJoinProblem("This meeting is end-to-end encrypted, and this browser cannot take part: it lacks encrypted media (WebRTC Encoded Transform) or secure storage. Use a current Chrome, Edge or Safari.");
      return false;
    }
    saveName(name);
    if (passcode !== null) savePasscode(this.meetingId, passcode);
    // The person read that the meeting is not encrypted, and joined.
    if (!this.policy.expectsE2ee) this.policy.consent();
    this.done = true;
    this.level.close();
    navigator.mediaDevices?.removeEventListener?.("devicechange", this.onDeviceChange);
    this.preview.srcObject = null;
    startMeeting({
      meetingId: this.meetingId,
      title: this.meeting.title,
      name,
      passcode: this.meeting.needsPasscode ? passcode : null,
      invite: { url: this.meeting.url, passcode: this.meeting.needsPasscode ? (this.meeting.passcode ?? passcode) : null },
      device: deviceId(),
      media: this.media,
      changeName: () => void showPrejoin(this.meetingId, this.media),
      wrongPasscode: (message) => void showPrejoin(this.meetingId, this.media, { passcode: message }),
      secure,
      policy: this.policy,
      resume: this.resume,
    }, notices);
    return true;
  }
}

function field(id: string, label: string, select: HTMLSelectElement): HTMLElement {
  return el("div", { class: "field" }, el("label", { attrs: { for: id }, text: label }), select);
}

/** Fills a device list, keeping `selected` chosen when it is there. */


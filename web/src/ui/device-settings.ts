// Choosing the camera, microphone and speaker: the lists the pre-join page
// shows, and the dialog that changes them during a meeting. A choice takes
// effect at once (the track is swapped on its sender, nothing is
// renegotiated) and is remembered for the next meeting. So is background
// blur (meeting/background-blur.ts), where the browser can do it.

import { listDevices, speakerSelectionSupported } from "../meeting/devices.js";
import { openDialog } from "./dialog.js";
import { el, replace } from "./dom.js";
import { checkbox } from "./forms.js";

export type DeviceKind = "camera" | "microphone" | "speaker";

/** Fills a device list; with no device (or `withDefault`) a "System default" or empty entry comes first. */
export function fillDeviceSelect(select: HTMLSelectElement, devices: MediaDeviceInfo[], selected: string | null, emptyText: string, withDefault = false): void {
  const options: HTMLOptionElement[] = [];
  if (withDefault || devices.length === 0) options.push(el("option", { text: devices.length === 0 ? emptyText : "System default", props: { value: "" } }));
  devices.forEach((d, i) => {
    options.push(el("option", { text: d.label || `Device ${i + 1}`, props: { value: d.deviceId } }));
  });
  replace(select, ...options);
  select.disabled = devices.length === 0;
  if (selected !== null && devices.some((d) => d.deviceId === selected)) select.value = selected;
}

export interface DeviceSettingsHooks {
  /** The device in use (or chosen, when the device is off) for each kind; null: the system default. */
  current(kind: DeviceKind): string | null;
  /** The person chose a device. */
  choose(kind: DeviceKind, deviceId: string | null): void;
  /** Background blur: whether it is on, turning it on or off, and whether this browser can blur at all. */
  blur?: BlurHooks;
}

export interface BlurHooks {
  on(): boolean;
  set(on: boolean): void;
  supported: boolean;
}

/** The "Blur background" checkbox (id `id`), following and changing the blur; null where the browser cannot blur. */
export function blurToggle(id: string, hooks: BlurHooks): { root: HTMLElement; input: HTMLInputElement; refresh(): void } | null {
  if (!hooks.supported) return null;
  const c = checkbox(id, "Blur background", "Done in this browser, before your video is encrypted and sent.");
  const refresh = (): void => {
    c.input.checked = hooks.on();
  };
  refresh();
  c.input.addEventListener("change", () => {
    hooks.set(c.input.checked);
    refresh(); // a browser that cannot load the model turns it back off
  });
  return { root: c.root, input: c.input, refresh };
}

/** Opens the in-meeting device dialog in `host`; resolves when it closes. */
export async function openDeviceSettings(host: HTMLElement, hooks: DeviceSettingsHooks): Promise<void> {
  const lists = await listDevices();
  const select = (kind: DeviceKind, devices: MediaDeviceInfo[], empty: string, withDefault: boolean): HTMLSelectElement => {
    const s = el("select", { id: `meeting-select-${kind}`, attrs: { "data-kind": kind } });
    fillDeviceSelect(s, devices, hooks.current(kind), empty, withDefault);
    s.addEventListener("change", () => hooks.choose(kind, s.value === "" ? null : s.value));
    return s;
  };
  const field = (kind: DeviceKind, label: string, s: HTMLSelectElement): HTMLElement =>
    el("div", { class: "field" }, el("label", { text: label, attrs: { for: `meeting-select-${kind}` } }), s);
  const body = [
    field("camera", "Camera", select("camera", lists.cameras, "No camera found", false)),
    field("microphone", "Microphone", select("microphone", lists.microphones, "No microphone found", false)),
  ];
  if (speakerSelectionSupported) body.push(field("speaker", "Speaker", select("speaker", lists.speakers, "No speaker found", true)));
  else body.push(el("p", { class: "hint", text: "This browser plays sound on the system's speaker; choose it in the system settings." }));
  const blur = hooks.blur ? blurToggle("meeting-blur", hooks.blur) : null;
  if (blur) body.splice(1, 0, blur.root);
  await openDialog(host, { id: "device-settings", title: "Audio and video", body, confirm: { id: "device-settings-done", label: "Done" }, cancelLabel: null });
}

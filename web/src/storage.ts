// Remembered choices (display name, devices) in localStorage. Storage can be
// disabled or full; then nothing is remembered and nothing breaks.

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

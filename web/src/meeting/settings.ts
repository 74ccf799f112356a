// A meeting's rules (docs/protocol.md, "Settings"): their type, reading them
// from the server, and the words the forms use for them. Pure: no DOM, so the
// mapping between forms and settings can be tested on its own.

/** Who may do something: the host and co-hosts, or everyone. */
export type Who = "hosts" | "everyone";

/**
 * A country rule (docs/api.md, "Country rules"): an allow- or deny-list of
 * ISO 3166-1 alpha-2 codes, and what happens to private and unknown
 * addresses. Mode "" is off. The organisation's rule applies to every
 * meeting; a meeting's own can only keep out more people.
 */
export interface CountryRule {
  mode: "" | "allow" | "deny";
  codes: string[];
  private: "allow" | "refuse";
  unknown: "allow" | "refuse";
}

export const COUNTRY_OFF: Readonly<CountryRule> = Object.freeze({ mode: "", codes: [], private: "allow", unknown: "allow" });

export interface Settings {
  /** The meeting's own country rule; absent when it has none (the server keeps a rule left out of what is sent). */
  country?: CountryRule;
  /** The only regions the meeting may be held in, narrowing the organisation's; absent when it names none (the server keeps regions left out of what is sent; [] names none). */
  regions?: string[];
  passcode: boolean;
  waitingRoom: boolean;
  requireSignIn: boolean;
  joinBeforeHost: boolean;
  screenShare: Who;
  unmute: Who;
  chat: Who;
  rename: Who;
  locked: boolean;
  /** Sources outside end-to-end encryption (WHIP) may publish into an end-to-end encrypted meeting (ingest.ts); absent is off, as the server omits it. */
  ingest?: boolean;
}

export type BoolSetting = "passcode" | "waitingRoom" | "requireSignIn" | "joinBeforeHost" | "ingest";
export type WhoSetting = "screenShare" | "unmute" | "chat" | "rename";
export type SettingKey = BoolSetting | WhoSetting;

/**
 * The product's defaults (docs/protocol.md), used only until the server has
 * said what the organisation's are.
 */
export const PRODUCT_DEFAULTS: Readonly<Settings> = Object.freeze({
  passcode: true,
  waitingRoom: true,
  requireSignIn: false,
  joinBeforeHost: false,
  screenShare: "hosts",
  unmute: "everyone",
  chat: "everyone",
  rename: "everyone",
  locked: false,
});

/** One field of a settings form. */
export interface SettingField {
  key: SettingKey;
  kind: "bool" | "who";
  label: string;
  hint?: string;
}

/** Every setting a host may choose, in the order forms show them. */
export const SETTING_FIELDS: readonly SettingField[] = [
  { key: "passcode", kind: "bool", label: "Require a passcode", hint: "The invite link carries it; people with the bare link must type it." },
  { key: "waitingRoom", kind: "bool", label: "Waiting room", hint: "You let each person in yourself." },
  { key: "requireSignIn", kind: "bool", label: "Only signed-in people can join", hint: "Guests without an account are turned away." },
  { key: "joinBeforeHost", kind: "bool", label: "Let people join before the host" },
  { key: "screenShare", kind: "who", label: "Who can share their screen" },
  { key: "unmute", kind: "who", label: "Who can unmute themselves after a host muted them" },
  { key: "chat", kind: "who", label: "Who can chat" },
  { key: "rename", kind: "who", label: "Who can rename themselves" },
  {
    key: "ingest",
    kind: "bool",
    label: "Allow stream-in sources (WHIP) and watching programs (WHEP) in an end-to-end encrypted meeting",
    hint: "A streaming program that speaks WHIP with VP8 and Opus (GStreamer; not yet OBS, which sends H.264) can then send picture and sound into the meeting with a token you make. What they send is not end-to-end encrypted, and everyone sees them marked so. A program that watches by WHEP gets the active speaker's frames as they are sent (here encrypted ones, which it cannot play, but it learns who speaks and when), and everyone sees it listed as watching.",
  },
];

/** What a host may change from inside a running meeting (the passcode and join-before-host are fixed by then). */
export const IN_MEETING_FIELDS: readonly SettingKey[] = ["waitingRoom", "requireSignIn", "screenShare", "unmute", "chat", "rename", "ingest"];

export const WHO_LABELS: Readonly<Record<Who, string>> = { hosts: "Only hosts and co-hosts", everyone: "Everyone" };

/** The ID an element of a settings form gets for a setting, with a prefix per form. */
export function settingFieldId(prefix: string, key: SettingKey): string {
  return `${prefix}-${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

type Obj = Record<string, unknown>;

/**
 * Reads a country rule; null when `v` is not one (a rule that names a
 * code that is not two upper-case letters is not one).
 */
export function parseCountryRule(v: unknown): CountryRule | null {
  if (!isObj(v)) return null;
  const mode = v.mode === "allow" || v.mode === "deny" ? v.mode : v.mode === "" || v.mode === undefined ? "" : null;
  if (mode === null) return null;
  const codes = v.codes === null || v.codes === undefined ? [] : v.codes;
  if (!Array.isArray(codes) || !codes.every((c) => typeof c === "string" && /^[A-Z]{2}$/.test(c))) return null;
  const choice = (x: unknown): "allow" | "refuse" => (x === "refuse" ? "refuse" : "allow");
  return { mode, codes: [...(codes as string[])], private: choice(v.private), unknown: choice(v.unknown) };
}

/**
 * Reads what a person typed as country codes: letters in twos, separated
 * by spaces or commas, upper-cased. Returns the codes, or the first word
 * that is not a code.
 */
export function parseCountryCodes(text: string): { codes: string[] } | { bad: string } {
  const codes: string[] = [];
  for (const word of text.split(/[\s,;]+/).filter((w) => w !== "")) {
    const c = word.toUpperCase();
    if (!/^[A-Z]{2}$/.test(c)) return { bad: word };
    if (!codes.includes(c)) codes.push(c);
  }
  return { codes: codes.sort() };
}

/** A region label (docs/api.md, Regions), and how many a set may have. */
export const REGION_LABEL = /^[a-z0-9][a-z0-9-]{0,31}$/;
export const MAX_REGIONS = 16;

/** Region labels typed as text (spaces or commas between), lower-cased, sorted, without repeats; or the first word that is none. */
export function parseRegionLabels(text: string): { regions: string[] } | { bad: string } {
  const regions: string[] = [];
  for (const word of text.split(/[\s,;]+/).filter((w) => w !== "")) {
    const r = word.toLowerCase();
    if (!REGION_LABEL.test(r)) return { bad: word };
    if (!regions.includes(r)) regions.push(r);
  }
  if (regions.length > MAX_REGIONS) return { bad: `more than ${MAX_REGIONS} regions` };
  return { regions: regions.sort() };
}

/** A set of region labels from the server, or [] when it is not one. */
export function parseRegions(v: unknown): string[] {
  return Array.isArray(v) && v.length <= MAX_REGIONS && v.every((r) => typeof r === "string" && REGION_LABEL.test(r)) ? (v as string[]) : [];
}

/** Whether a rule refuses anyone at all. */
export function countryRuleOn(r: Readonly<CountryRule> | undefined): boolean {
  return r !== undefined && r.mode !== "";
}

/** One sentence for people: "Only from DE, FR." / "Not from RU." / "" when off. */
export function describeCountryRule(r: Readonly<CountryRule> | undefined): string {
  if (r === undefined || r.mode === "") return "";
  const list = r.codes.join(", ");
  const parts = [r.mode === "allow" ? `Only from ${list}.` : r.codes.length > 0 ? `Not from ${list}.` : "Any country."];
  if (r.private === "refuse") parts.push("Not from private networks.");
  if (r.unknown === "refuse") parts.push("Not from addresses whose country is unknown.");
  return parts.join(" ");
}

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Reads settings the server sent. A permission this client does not know
 * reads as "hosts", the stricter choice; a missing flag reads as off.
 * Settings this client does not know (a newer server's) are carried along
 * unchanged, so that sending the settings back never resets them.
 * Returns null when `v` is not an object at all.
 */
export function parseSettings(v: unknown): Settings | null {
  if (!isObj(v)) return null;
  const flag = (k: string) => v[k] === true;
  const who = (k: string): Who => (v[k] === "everyone" ? "everyone" : "hosts");
  const others: Obj = {};
  for (const [k, x] of Object.entries(v)) {
    if (!(k in PRODUCT_DEFAULTS) && k !== "ingest" && (typeof x === "boolean" || typeof x === "string" || typeof x === "number")) others[k] = x;
  }
  const country = parseCountryRule(v.country);
  const regions = Array.isArray(v.regions) ? parseRegions(v.regions) : null;
  return {
    ...others,
    ...(country !== null ? { country } : {}),
    ...(regions !== null && regions.length > 0 ? { regions } : {}),
    passcode: flag("passcode"),
    waitingRoom: flag("waitingRoom"),
    requireSignIn: flag("requireSignIn"),
    joinBeforeHost: flag("joinBeforeHost"),
    screenShare: who("screenShare"),
    unmute: who("unmute"),
    chat: who("chat"),
    rename: who("rename"),
    locked: flag("locked"),
    ...(flag("ingest") ? { ingest: true } : {}),
  };
}

/** The values of a settings form: a boolean for a checkbox, a string for a choice. */
export type FormValues = Partial<Record<SettingKey, boolean | string>>;

/**
 * Applies what a form says to `base`: only the keys the form has, and only
 * values that make sense (a "who" that is not "hosts" or "everyone" is
 * ignored). `locked` is never a form field, so it always comes from `base`.
 */
export function applyForm(base: Readonly<Settings>, values: FormValues): Settings {
  const out: Settings = { ...base };
  for (const f of SETTING_FIELDS) {
    const v = values[f.key];
    if (f.key === "ingest") {
      if (v === true) out.ingest = true;
      else if (v === false) delete out.ingest;
    } else if (f.kind === "bool") {
      if (typeof v === "boolean") out[f.key as BoolSetting] = v;
    } else if (v === "hosts" || v === "everyone") {
      out[f.key as WhoSetting] = v;
    }
  }
  return out;
}

export function sameSettings(a: Readonly<Settings>, b: Readonly<Settings>): boolean {
  return (
    (Object.keys(PRODUCT_DEFAULTS) as (keyof Settings)[]).every((k) => a[k] === b[k]) &&
    (a.ingest === true) === (b.ingest === true) &&
    sameCountryRule(a.country, b.country) &&
    (a.regions ?? []).join(" ") === (b.regions ?? []).join(" ")
  );
}

/** Whether two rules say the same (absent and off are the same). */
export function sameCountryRule(a: Readonly<CountryRule> | undefined, b: Readonly<CountryRule> | undefined): boolean {
  const norm = (r: Readonly<CountryRule> | undefined) => (r === undefined || r.mode === "" ? "" : JSON.stringify([r.mode, [...r.codes].sort(), r.private, r.unknown]));
  return norm(a) === norm(b);
}

/** A one-line summary for a meeting card: "Passcode · Waiting room". */
export function summary(s: Readonly<Settings>): string {
  const parts: string[] = [];
  if (s.passcode) parts.push("Passcode");
  if (s.waitingRoom) parts.push("Waiting room");
  if (s.requireSignIn) parts.push("Signed-in people only");
  if (s.joinBeforeHost) parts.push("Join before host");
  if (s.screenShare === "everyone") parts.push("Everyone can share");
  if (countryRuleOn(s.country)) parts.push("Country rule");
  return parts.length === 0 ? "Open to anyone with the link" : parts.join(" · ");
}

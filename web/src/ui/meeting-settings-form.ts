// The fields of a meeting's settings, shared by the new-meeting options, the
// schedule page, editing a meeting, the admin's meeting defaults and the
// in-meeting settings dialog. Which fields show depends on where.

import {
  COUNTRY_OFF,
  PRODUCT_DEFAULTS,
  SETTING_FIELDS,
  WHO_LABELS,
  applyForm,
  describeCountryRule,
  parseCountryCodes,
  parseRegionLabels,
  sameSettings,
  settingFieldId,
  type CountryRule,
  type FormValues,
  type SettingKey,
  type Settings,
} from "../meeting/settings.js";
import { el } from "./dom.js";
import { checkbox, field, selectField, setError, type Field } from "./forms.js";

/**
 * The fields of a country rule: allow- or deny-list (or off), the codes,
 * and what happens to private and unknown addresses. Used for the
 * organisation's rule (admin page) and a meeting's own (SettingsForm).
 */
export class CountryRuleFields {
  readonly root: HTMLFieldSetElement;
  private readonly mode: HTMLSelectElement;
  private readonly codes: Field;
  private readonly priv: HTMLSelectElement;
  private readonly unknown: HTMLSelectElement;

  /** `prefix` keeps IDs apart (e.g. "org" → #org-country-mode); `note` is shown under the legend. */
  constructor(prefix: string, legend: string, note: string) {
    const mode = selectField(`${prefix}-country-mode`, "Rule", [
      ["", "No country rule"],
      ["allow", "Admit only participants from these countries"],
      ["deny", "Refuse participants from these countries"],
    ]);
    this.mode = mode.select;
    this.codes = field({
      id: `${prefix}-country-codes`,
      label: "Countries (ISO codes)",
      hint: "Two-letter codes separated by spaces or commas, like DE FR NL (GB for the United Kingdom).",
      attrs: { autocapitalize: "characters", spellcheck: "false" },
    });
    const choice = (id: string, label: string) =>
      selectField(id, label, [
        ["allow", "Admit"],
        ["refuse", "Refuse"],
      ]);
    const priv = choice(`${prefix}-country-private`, "Private networks (office, VPN, loopback)");
    const unknown = choice(`${prefix}-country-unknown`, "Addresses whose country is not known");
    this.priv = priv.select;
    this.unknown = unknown.select;
    const details = el("div", { class: "settings-choices" }, this.codes.root, priv.root, unknown.root);
    this.root = el("fieldset", { id: `${prefix}-country`, class: "settings-form" }, el("legend", { text: legend }), el("p", { class: "hint", text: note }), mode.root, details);
    const sync = () => {
      details.hidden = this.mode.value === "";
    };
    this.sync = sync;
    this.mode.addEventListener("change", sync);
    this.set(COUNTRY_OFF);
  }

  private readonly sync: () => void;

  set(r: Readonly<CountryRule> | undefined): void {
    const rule = r ?? COUNTRY_OFF;
    this.mode.value = rule.mode;
    this.codes.input.value = rule.codes.join(" ");
    this.priv.value = rule.private;
    this.unknown.value = rule.unknown;
    this.sync();
  }

  /** The rule the fields say, or null (with the problem shown) when the codes are not codes. */
  read(): CountryRule | null {
    setError(this.codes.error, null);
    const mode = this.mode.value === "allow" || this.mode.value === "deny" ? this.mode.value : "";
    const parsed = parseCountryCodes(this.codes.input.value);
    if ("bad" in parsed) {
      if (mode === "") return { ...COUNTRY_OFF };
      setError(this.codes.error, `"${parsed.bad}" is not a two-letter country code.`);
      return null;
    }
    if (mode === "allow" && parsed.codes.length === 0) {
      setError(this.codes.error, "Name at least one country to admit.");
      return null;
    }
    if (mode === "") return { ...COUNTRY_OFF };
    return { mode, codes: parsed.codes, private: this.priv.value === "refuse" ? "refuse" : "allow", unknown: this.unknown.value === "refuse" ? "refuse" : "allow" };
  }
}

/** What the meeting's country part of a SettingsForm says about the organisation's rule. */
export function countryNote(orgRule: Readonly<CountryRule> | undefined): string {
  const org = describeCountryRule(orgRule);
  return (
    "Checked when someone joins, from the address they connect from. It adds to the organisation's rule and can only keep out more people." +
    (org !== "" ? ` The organisation's rule: ${org}` : " The organisation has no country rule.")
  );
}

export class SettingsForm {
  readonly root: HTMLFieldSetElement;
  private readonly inputs = new Map<SettingKey, HTMLInputElement | HTMLSelectElement>();
  private shown: Settings = { ...PRODUCT_DEFAULTS };

  /** `prefix` keeps element IDs apart when a page has two forms (e.g. "new" → #new-waiting-room). */
  constructor(prefix: string, legend: string, keys: readonly SettingKey[] = SETTING_FIELDS.map((f) => f.key)) {
    this.root = el("fieldset", { class: "settings-form" }, el("legend", { text: legend }));
    const toggles = el("div", { class: "settings-toggles" });
    const choices = el("div", { class: "settings-choices" });
    for (const f of SETTING_FIELDS) {
      if (!keys.includes(f.key)) continue;
      const id = settingFieldId(prefix, f.key);
      if (f.kind === "bool") {
        const c = checkbox(id, f.label, f.hint);
        this.inputs.set(f.key, c.input);
        toggles.appendChild(c.root);
      } else {
        const s = selectField(id, f.label, [
          ["hosts", WHO_LABELS.hosts],
          ["everyone", WHO_LABELS.everyone],
        ]);
        this.inputs.set(f.key, s.select);
        choices.appendChild(s.root);
      }
    }
    this.root.append(toggles, choices);
  }

  /** Shows `s` in the fields. */
  set(s: Readonly<Settings>): void {
    for (const [key, input] of this.inputs) {
      const v = s[key];
      if (input instanceof HTMLInputElement) input.checked = v === true;
      else input.value = String(v);
    }
    this.country?.set(s.country);
    if (this.regions) this.regions.input.value = (s.regions ?? []).join(" ");
    this.shown = { ...s };
  }

  /** Whether the fields say anything other than what `set` showed. */
  get changed(): boolean {
    return !sameSettings(this.read(this.shown), this.shown);
  }

  values(): FormValues {
    const out: FormValues = {};
    for (const [key, input] of this.inputs) out[key] = input instanceof HTMLInputElement ? input.checked : input.value;
    return out;
  }

  /** `base` with what the fields say. */
  read(base: Readonly<Settings>): Settings {
    const out = applyForm(base, this.values());
    const rule = this.country?.read();
    if (rule) out.country = rule;
    const regions = this.readRegions();
    if (regions !== null) out.regions = regions;
    return out;
  }

  private regions: Field | null = null;

  /**
   * Adds the meeting's own regions to the form, with a note on the
   * organisation's and this server's (where a region is configured or
   * the organisation names any: /api/me's organisation.region, .regions).
   */
  enableRegions(prefix: string, orgRegions: readonly string[], serverRegion: string): void {
    if (this.regions) return;
    const org = orgRegions.length > 0 ? `The organisation holds meetings only in ${orgRegions.join(", ")}; this can only narrow that.` : "The organisation names no region.";
    const here = serverRegion ? ` This server is in ${serverRegion}.` : " This server has no region.";
    this.regions = field({
      id: `${prefix}-regions`,
      label: "Regions this meeting is held in",
      value: (this.shown.regions ?? []).join(" "),
      hint: `Region labels separated by spaces; empty: wherever the organisation allows. ${org}${here}`,
      attrs: { autocapitalize: "none", spellcheck: "false" },
    });
    this.root.appendChild(this.regions.root);
  }

  /** The regions the field says (sorted; [] for none), or null without the field or when a label is wrong (the problem shown). */
  private readRegions(): string[] | null {
    if (!this.regions) return null;
    setError(this.regions.error, null);
    const parsed = parseRegionLabels(this.regions.input.value);
    if ("bad" in parsed) {
      setError(this.regions.error, `"${parsed.bad}" is not a region label (lower-case letters, digits and hyphens).`);
      return null;
    }
    return parsed.regions;
  }

  /** Whether the regions field (if any) says something valid; shows the problem if not. */
  regionsValid(): boolean {
    return this.regions === null || this.readRegions() !== null;
  }

  private country: CountryRuleFields | null = null;

  /**
   * Adds the meeting's own country rule to the form (only where the server
   * has a GeoIP database: /api/me's organisation.geoip), with a note on the
   * organisation's rule.
   */
  enableCountry(prefix: string, orgRule: Readonly<CountryRule> | undefined): void {
    if (this.country) return;
    this.country = new CountryRuleFields(prefix, "Countries", countryNote(orgRule));
    this.country.set(this.shown.country);
    this.root.appendChild(this.country.root);
  }

  /** Whether the country fields (if any) say something valid; shows the problem if not. */
  countryValid(): boolean {
    return this.country === null || this.country.read() !== null;
  }

  set disabled(d: boolean) {
    this.root.disabled = d;
  }
}

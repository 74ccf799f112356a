// The fields of a meeting's settings, shared by the new-meeting options, the
// schedule page, editing a meeting, the admin's meeting defaults and the
// in-meeting settings dialog. Which fields show depends on where.

import { PRODUCT_DEFAULTS, SETTING_FIELDS, WHO_LABELS, applyForm, sameSettings, settingFieldId, type FormValues, type SettingKey, type Settings } from "../meeting/settings.js";
import { el } from "./dom.js";
import { checkbox, selectField } from "./forms.js";

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
    return applyForm(base, this.values());
  }

  set disabled(d: boolean) {
    this.root.disabled = d;
  }
}

// The controls bar's layout buttons: gallery or speaker view, and full
// screen (the Fullscreen API on the meeting's stage; Escape, or the button
// again, leaves it). They draw and report clicks; the meeting screen
// decides what each does.

import type { LayoutMode } from "../lib/layout.js";
import { el, replace, setPressed } from "./dom.js";
import { icon } from "./icons.js";

export class LayoutControls {
  readonly layout: HTMLButtonElement;
  readonly fullscreen: HTMLButtonElement;

  constructor(actions: { toggleLayout(): void; toggleFullscreen(): void }) {
    this.layout = el("button", { id: "toggle-layout", class: "control", attrs: { type: "button", "aria-label": "Speaker view", "aria-pressed": "false" }, on: { click: () => actions.toggleLayout() } });
    this.fullscreen = el("button", { id: "toggle-fullscreen", class: "control", attrs: { type: "button", "aria-label": "Full screen", "aria-pressed": "false" }, on: { click: () => actions.toggleFullscreen() } });
    if (!document.fullscreenEnabled) {
      this.fullscreen.disabled = true;
      this.fullscreen.title = "This browser cannot show the meeting full screen";
    }
    this.setLayout("gallery", null);
    this.setFullscreen(false);
  }

  get buttons(): HTMLButtonElement[] {
    return [this.layout, this.fullscreen];
  }

  /**
   * The chosen layout; `forced` says why another one shows now (a
   * spotlight for everyone, one's own pin), for the tooltip.
   */
  setLayout(mode: LayoutMode, forced: string | null): void {
    const speaker = mode === "speaker";
    setPressed(this.layout, speaker);
    this.layout.dataset.mode = mode;
    const base = speaker ? "Speaker view: click for the gallery" : "Gallery: click for speaker view";
    this.layout.title = forced ? `${base} (${forced})` : base;
    replace(this.layout, icon(speaker ? "speakerView" : "grid"));
  }

  setFullscreen(on: boolean): void {
    setPressed(this.fullscreen, on);
    if (!this.fullscreen.disabled) this.fullscreen.title = on ? "Leave full screen (Esc)" : "Full screen";
    replace(this.fullscreen, icon(on ? "shrink" : "expand"));
  }
}

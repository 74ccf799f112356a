// The layout items of the controls bar's "More" menu: gallery or speaker
// view, and full screen (the Fullscreen API on the whole meeting, controls
// bar included; Escape, or the item again, leaves it). They keep what the
// items show and report choices; the meeting screen decides what each does.

import type { LayoutMode } from "../lib/layout.js";
import { icon } from "./icons.js";
import type { MenuItem } from "./menu.js";

export class LayoutControls {
  private mode: LayoutMode = "gallery";
  private forced: string | null = null;

  constructor(private readonly actions: { toggleLayout(): void; toggleFullscreen(): void; isFullscreen(): boolean }) {}

  /** The menu items, as they are now (the menu asks each time it opens). */
  items(): MenuItem[] {
    const speaker = this.mode === "speaker";
    const base = speaker ? "Speaker view: choose for the gallery" : "Gallery: choose for speaker view";
    const canFullscreen = document.fullscreenEnabled;
    // Read when the menu opens, not kept from fullscreenchange: the browser
    // changes fullscreenElement before that event, and a menu opened between
    // the two would show the old state.
    const fullscreen = this.actions.isFullscreen();
    return [
      {
        action: "layout",
        id: "toggle-layout",
        label: "Speaker view",
        icon: icon(speaker ? "speakerView" : "grid"),
        checked: speaker,
        title: this.forced ? `${base} (${this.forced})` : base,
        run: () => this.actions.toggleLayout(),
      },
      {
        action: "fullscreen",
        id: "toggle-fullscreen",
        label: "Full screen",
        icon: icon(fullscreen ? "shrink" : "expand"),
        checked: fullscreen,
        disabled: !canFullscreen,
        title: !canFullscreen ? "This browser cannot show the meeting full screen" : fullscreen ? "Leave full screen (Esc)" : "Show the meeting full screen",
        run: () => this.actions.toggleFullscreen(),
      },
    ];
  }

  /**
   * The chosen layout; `forced` says why another one shows now (a
   * spotlight for everyone, one's own pin), for the tooltip.
   */
  setLayout(mode: LayoutMode, forced: string | null): void {
    this.mode = mode;
    this.forced = forced;
  }
}

// The meeting's tiles, in one of two layouts (lib/layout.ts decides what
// goes where): the gallery, a grid sized to fit the window and the count,
// in pages of at most 25; or speaker view, one large tile (a spotlight for
// everyone, one's own pin, or the active speaker) over a strip of the
// others. Screen shares take the large place when there are any, the people
// beside them. Tiles are kept from one render to the next (only moved), so
// video keeps playing; a remote tile reports the size it draws at, for the
// simulcast layer the server sends, and 0×0 off its page.

import { arrange, bestGrid, type Arrangement, type LayoutMode } from "../lib/layout.js";
import type { SpeakerState } from "../lib/speaker-choice.js";
import type { MediaState, Participant } from "../meeting/protocol.js";
import type { ParticipantMedia } from "../meeting/tracks.js";
import { el, show } from "./dom.js";
import type { MenuItem } from "./menu.js";
import { Tile, type TileState } from "./tile.js";

/** Receives a remote video's drawn size, in device pixels. */
export type VideoSizeReport = (participant: string, source: "camera" | "screen", width: number, height: number) => void;

/** What the tiles show. */
export interface GalleryInput {
  selfId: string | null;
  selfName: string;
  /** What this participant sends, and the local tracks. */
  local: MediaState;
  camera: MediaStreamTrack | null;
  screen: MediaStreamTrack | null;
  people: readonly Participant[];
  received: ReadonlyMap<string, ParticipantMedia<MediaStreamTrack>>;
  /**
   * Under end-to-end encryption: whether the stream on `mid` decrypts under
   * this participant's key (null: not known yet). A server that swaps two
   * people's streams is caught on the tile.
   */
  streamFrom?(mid: string, participant: string): boolean | null;
}

/** The tiles for people (the grid) and for screen shares (the spotlight), keyed for reuse. */
export function tilesOf(g: GalleryInput): { people: [string, TileState][]; screens: [string, TileState][] } {
  const wrongKey = (mid: string | undefined, participant: string): boolean => mid !== undefined && g.streamFrom?.(mid, participant) === false;
  const self = { participant: g.selfId ?? "", name: g.selfName, self: true, connection: "connected" };
  const people: [string, TileState][] = [["self", { ...self, screen: false, audio: g.local.audio, videoOn: g.local.video, track: g.camera }]];
  const screens: [string, TileState][] = [];
  if (g.screen) screens.push(["screen:self", { ...self, screen: true, audio: true, videoOn: true, track: g.screen }]);
  for (const p of g.people) {
    if (p.id === g.selfId) continue;
    const media = g.received.get(p.id) ?? {};
    const who = { participant: p.id, name: p.name, self: false, connection: p.connection, notE2EE: p.ingest === true };
    people.push([
      `p:${p.id}`,
      {
        ...who,
        screen: false,
        audio: p.audio,
        videoOn: p.video,
        track: media.camera?.track ?? null,
        // Their camera or their voice under someone else's key.
        wrongKey: (p.video && wrongKey(media.camera?.mid, p.id)) || (p.audio && wrongKey(media.microphone?.mid, p.id)),
      },
    ]);
    if (media.screen || p.screen) {
      screens.push([`s:${p.id}`, { ...who, screen: true, audio: true, videoOn: true, track: media.screen?.track ?? null, wrongKey: wrongKey(media.screen?.mid, p.id) }]);
    }
  }
  return { people, screens };
}

/** What the gallery asks of the meeting. */
export interface GalleryActions {
  /** Receives a remote video's drawn size, in device pixels. */
  reportSize: VideoSizeReport;
  /** Whether this participant may put someone in the spotlight for everyone (hosts and co-hosts). */
  maySpotlight(): boolean;
  /** Puts a participant in the spotlight for everyone (null: removes it). */
  spotlight(participant: string | null): void;
  /** The layout changed (mode, pin, spotlight): for the controls bar's layout button. */
  layoutChanged?(): void;
}

const SELF_KEY = "self";

export class Gallery {
  /** The screen shares, the large tile, the grid or strip, and the page controls. */
  readonly root: HTMLDivElement;
  readonly spotlight: HTMLDivElement;
  /** The large tile in speaker view. */
  readonly main: HTMLDivElement;
  readonly grid: HTMLDivElement;
  private readonly pager: HTMLDivElement;
  private readonly pageLabel: HTMLSpanElement;
  private readonly prev: HTMLButtonElement;
  private readonly next: HTMLButtonElement;
  private readonly tiles = new Map<string, Tile>();
  private readonly resizer: ResizeObserver;
  private people: [string, TileState][] = [];
  private screens: [string, TileState][] = [];
  private selfId: string | null = null;
  private chosenMode: LayoutMode = "gallery";
  private page = 0;
  /** One's own pin (a participant), and the spotlight for everyone. */
  private pinned: string | null = null;
  private spotlit: string | null = null;
  private speakers: SpeakerState = { speaking: new Set(), speaker: null };
  private arrangement: Arrangement | null = null;

  constructor(private readonly actions: GalleryActions) {
    this.spotlight = el("div", { class: "spotlight", attrs: { "aria-label": "Screen shares", role: "region" } });
    this.main = el("div", { id: "speaker-main", class: "speaker-main", attrs: { "aria-label": "Speaker", role: "region" } });
    this.grid = el("div", { id: "gallery", class: "gallery", attrs: { "aria-label": "Participants' video", role: "region" } });
    this.pageLabel = el("span", { id: "gallery-page", class: "gallery-page", attrs: { "aria-live": "polite" } });
    this.prev = el("button", { id: "gallery-prev", class: "button pager-button", text: "‹ Previous", attrs: { type: "button", "aria-label": "Previous page of participants" }, on: { click: () => this.turn(-1) } });
    this.next = el("button", { id: "gallery-next", class: "button pager-button", text: "Next ›", attrs: { type: "button", "aria-label": "Next page of participants" }, on: { click: () => this.turn(1) } });
    this.pager = el("div", { class: "gallery-pager", attrs: { role: "navigation", "aria-label": "Pages of participants" } }, this.prev, this.pageLabel, this.next);
    show(this.pager, false);
    show(this.main, false);
    this.root = el("div", { class: "tiles", attrs: { "data-layout": "gallery" } }, this.spotlight, this.main, this.grid, this.pager);
    this.resizer = new ResizeObserver(() => this.layout());
    this.resizer.observe(this.grid);
  }

  /** The layout the person chose (gallery or speaker view). */
  get mode(): LayoutMode {
    return this.chosenMode;
  }

  /** What is shown now: the layout, and why a tile is large. */
  get shown(): Arrangement | null {
    return this.arrangement;
  }

  setMode(mode: LayoutMode): void {
    if (mode === this.chosenMode) return;
    this.chosenMode = mode;
    this.page = 0;
    this.arrange();
  }

  /** Pins a participant for oneself (null: unpins): their tile goes large. */
  pin(participant: string | null): void {
    if (participant === this.pinned) return;
    this.pinned = participant;
    this.page = 0;
    this.arrange();
  }

  get pinnedParticipant(): string | null {
    return this.pinned;
  }

  /** The participant in the spotlight for everyone (null: none). */
  setSpotlight(participant: string | null): void {
    if (participant === this.spotlit) return;
    this.spotlit = participant;
    this.arrange();
  }

  /** Who speaks (rings) and who the speaker view shows. */
  setSpeakers(s: SpeakerState): void {
    const moved = s.speaker !== this.speakers.speaker;
    this.speakers = s;
    for (const [key, state] of this.people) this.tiles.get(key)?.setSpeaking(!state.self && s.speaking.has(state.participant));
    if (moved) this.arrange();
  }

  /** Shows these tiles; returns whether any screen is shared. */
  render(people: [string, TileState][], screens: [string, TileState][]): boolean {
    this.people = people;
    this.screens = screens;
    this.selfId = people.find(([k]) => k === SELF_KEY)?.[1].participant || null;
    const wanted = new Set([...people, ...screens].map(([k]) => k));
    for (const [key, tile] of this.tiles) {
      if (!wanted.has(key)) {
        tile.destroy();
        this.tiles.delete(key);
      }
    }
    for (const [key, state] of [...people, ...screens]) this.tileFor(key, state).update(state);
    this.arrange();
    return screens.length > 0;
  }

  /** Fits the grid to its size (after a resize, or a side panel opened). */
  layout(): void {
    const n = this.grid.children.length;
    const r = this.grid.getBoundingClientRect();
    const g = bestGrid(n, r.width, r.height);
    this.grid.style.setProperty("--cols", String(g.cols));
    this.grid.style.setProperty("--rows", String(g.rows));
  }

  destroy(): void {
    this.resizer.disconnect();
    for (const t of this.tiles.values()) t.destroy();
    this.tiles.clear();
  }

  private keyOf(participant: string | null): string | null {
    if (participant === null) return null;
    return participant === this.selfId ? SELF_KEY : `p:${participant}`;
  }

  /** Decides what goes where (lib/layout.ts) and moves the tiles there. */
  private arrange(): void {
    const keys = this.people.map(([k]) => k);
    const a = arrange({
      keys,
      self: SELF_KEY,
      mode: this.chosenMode,
      spotlight: this.keyOf(this.spotlit),
      pinned: this.keyOf(this.pinned),
      speaker: this.keyOf(this.speakers.speaker),
      screens: this.screens.length > 0,
      page: this.page,
    });
    this.arrangement = a;
    this.page = a.page.page;
    const onPage = new Set([...a.shown, ...(a.large ? [a.large] : [])]);
    for (const [key] of this.people) this.tiles.get(key)?.setOnPage(onPage.has(key));
    this.place(this.spotlight, this.screens.map(([k]) => k));
    this.place(this.main, a.large ? [a.large] : []);
    this.place(this.grid, a.shown);
    for (const [key, tile] of this.tiles) {
      tile.root.classList.toggle("large", key === a.large);
      if (key === a.large && a.reason) tile.root.dataset.large = a.reason;
      else delete tile.root.dataset.large;
      const participant = tile.root.dataset.participant;
      tile.root.classList.toggle("pinned", participant !== undefined && participant === this.pinned);
      tile.root.classList.toggle("spotlit", participant !== undefined && participant === this.spotlit);
    }
    show(this.spotlight, this.screens.length > 0);
    show(this.main, a.large !== null);
    this.root.dataset.layout = a.mode;
    this.grid.dataset.count = String(a.shown.length);
    show(this.pager, a.page.pages > 1);
    this.pageLabel.textContent = `Page ${a.page.page + 1} of ${a.page.pages}`;
    this.prev.disabled = a.page.page === 0;
    this.next.disabled = a.page.page >= a.page.pages - 1;
    this.layout();
    this.actions.layoutChanged?.();
  }

  private turn(by: number): void {
    this.page += by;
    this.arrange();
  }

  private tileFor(key: string, state: TileState): Tile {
    let tile = this.tiles.get(key);
    if (tile) return tile;
    const source = state.screen ? "screen" : "camera";
    const participant = state.participant;
    const report = state.self ? undefined : (width: number, height: number) => this.actions.reportSize(participant, source, width, height);
    tile = new Tile(state.screen, state.self, report, state.screen ? undefined : { menu: () => this.menuOf(participant), doubleClick: () => this.togglePin(participant) });
    this.tiles.set(key, tile);
    return tile;
  }

  private togglePin(participant: string): void {
    this.pin(this.pinned === participant ? null : participant);
  }

  /** A people tile's menu: pin for oneself; for hosts, the spotlight for everyone. */
  private menuOf(participant: string): MenuItem[] {
    const items: MenuItem[] = [
      this.pinned === participant
        ? { action: "unpin", label: "Unpin", run: () => this.pin(null) }
        : { action: "pin", label: "Pin for me", run: () => this.pin(participant) },
    ];
    if (this.actions.maySpotlight()) {
      items.push(
        this.spotlit === participant
          ? { action: "unspotlight", label: "Remove the spotlight", run: () => this.actions.spotlight(null) }
          : { action: "spotlight", label: "Spotlight for everyone", run: () => this.actions.spotlight(participant) },
      );
    }
    return items;
  }

  /** Puts these tiles in `container` in this order (moving, never re-creating them, so video keeps playing); tiles off every page leave the document. */
  private place(container: HTMLElement, keys: string[]): void {
    const roots = keys.map((k) => this.tiles.get(k)?.root).filter((r): r is HTMLDivElement => r !== undefined);
    const current = [...container.children];
    const same = current.length === roots.length && current.every((c, i) => c === roots[i]);
    if (same) return;
    const keep = new Set<Element>(roots);
    for (const c of current) if (!keep.has(c) && !this.onAnyPage(c)) c.remove();
    for (const r of roots) container.appendChild(r);
  }

  private onAnyPage(node: Element): boolean {
    const a = this.arrangement;
    if (!a) return false;
    for (const k of [...a.shown, ...(a.large ? [a.large] : []), ...this.screens.map(([s]) => s)]) {
      if (this.tiles.get(k)?.root === node) return true;
    }
    return false;
  }
}

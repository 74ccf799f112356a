// The meeting's tiles: people in a grid sized to fit (lib/layout.ts), screen
// shares in a spotlight beside it. Tiles are kept from one render to the
// next (only moved), so video keeps playing; a remote tile reports the
// size it draws at, for the simulcast layer the server sends.

import { bestGrid } from "../lib/layout.js";
import type { MediaState, Participant } from "../meeting/protocol.js";
import type { ParticipantMedia } from "../meeting/tracks.js";
import { el, show } from "./dom.js";
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
    const who = { participant: p.id, name: p.name, self: false, connection: p.connection };
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

export class Gallery {
  /** The spotlight and the grid, side by side. */
  readonly root: HTMLDivElement;
  readonly spotlight: HTMLDivElement;
  readonly grid: HTMLDivElement;
  private readonly tiles = new Map<string, Tile>();
  private readonly resizer: ResizeObserver;

  constructor(private readonly reportSize: VideoSizeReport) {
    this.spotlight = el("div", { class: "spotlight", attrs: { "aria-label": "Screen shares", role: "region" } });
    this.grid = el("div", { id: "gallery", class: "gallery", attrs: { "aria-label": "Participants' video", role: "region" } });
    this.root = el("div", { class: "tiles" }, this.spotlight, this.grid);
    this.resizer = new ResizeObserver(() => this.layout());
    this.resizer.observe(this.grid);
  }

  /** Shows these tiles in this order; returns whether any screen is shared. */
  render(people: [string, TileState][], screens: [string, TileState][]): boolean {
    const wanted = new Set([...people, ...screens].map(([k]) => k));
    for (const [key, tile] of this.tiles) {
      if (!wanted.has(key)) {
        tile.destroy();
        this.tiles.delete(key);
      }
    }
    this.place(this.spotlight, screens);
    this.place(this.grid, people);
    show(this.spotlight, screens.length > 0);
    this.grid.dataset.count = String(people.length);
    this.layout();
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

  /** Puts the tiles in `container` in the given order, creating and updating them. */
  private place(container: HTMLElement, list: [string, TileState][]): void {
    const roots: HTMLElement[] = [];
    for (const [key, state] of list) {
      let tile = this.tiles.get(key);
      if (!tile) {
        const source = state.screen ? "screen" : "camera";
        const participant = state.participant;
        tile = new Tile(state.screen, state.self, state.self ? undefined : (width, height) => this.reportSize(participant, source, width, height));
        this.tiles.set(key, tile);
      }
      tile.update(state);
      roots.push(tile.root);
    }
    const current = [...container.children];
    const same = current.length === roots.length && current.every((c, i) => c === roots[i]);
    if (!same) for (const r of roots) container.appendChild(r); // moves; no re-creation, so video keeps playing
  }
}

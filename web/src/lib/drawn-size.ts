// The size at which a tile draws the whole of a received picture, which is
// what `video_size` tells the server (docs/protocol.md) so that it forwards
// the smallest simulcast layer that looks sharp there. Pure, for tests.
//
// A tile that crops (`object-fit: cover`) scales the picture up until it
// fills the box and cuts off what overflows: the whole picture is drawn
// larger than the box, and a layer fitted to the box would look soft. A
// tile that fits (`contain`) draws it inside the box. Both are computed
// from the publisher's aspect, which every simulcast layer shares, so that
// a layer switch (the video's `resize`) does not change the report.

/** The largest size the protocol takes (docs/protocol.md, `video_size`). */
export const MAX_VIDEO_SIZE = 16384;
/** The aspect assumed until the first frame says otherwise (cameras are 16:9 by default). */
export const DEFAULT_ASPECT = 16 / 9;

export type Fit = "cover" | "contain";

export interface DrawnSizeInput {
  /** The video element's box, in CSS pixels. */
  boxWidth: number;
  boxHeight: number;
  /** The publisher's picture, width / height. */
  aspect: number;
  fit: Fit;
  /** window.devicePixelRatio. */
  dpr: number;
  /**
   * The picture is drawn at all: the tile is on the current gallery page,
   * on screen, its video not hidden (camera off), and the tab visible.
   */
  shown: boolean;
}

export interface Size {
  width: number;
  height: number;
}

/** The whole picture's drawn size in device pixels; 0×0 when it is not shown. */
export function drawnSize(i: DrawnSizeInput): Size {
  const none = { width: 0, height: 0 };
  if (!i.shown || !(i.boxWidth > 0) || !(i.boxHeight > 0)) return none;
  const aspect = i.aspect > 0 && Number.isFinite(i.aspect) ? i.aspect : DEFAULT_ASPECT;
  const dpr = i.dpr > 0 && Number.isFinite(i.dpr) ? i.dpr : 1;
  // Width of the whole picture in CSS pixels: wide enough to fill the box
  // (cover) or narrow enough to fit in it (contain).
  const byHeight = i.boxHeight * aspect;
  let width = (i.fit === "cover" ? Math.max(i.boxWidth, byHeight) : Math.min(i.boxWidth, byHeight)) * dpr;
  let height = width / aspect;
  // Beyond the protocol's limit, shrink both sides alike.
  const over = Math.max(width / MAX_VIDEO_SIZE, height / MAX_VIDEO_SIZE, 1);
  width /= over;
  height /= over;
  const w = Math.max(1, Math.min(MAX_VIDEO_SIZE, Math.round(width)));
  const h = Math.max(1, Math.min(MAX_VIDEO_SIZE, Math.round(height)));
  return { width: w, height: h };
}

/**
 * The publisher's aspect, given the one used so far (null: none yet) and
 * the video's current frame size: kept unless the new frame's aspect
 * differs by more than 2 % (rounding in a smaller layer, such as 1280×720
 * down to 427×240, is not a new aspect; a rotated phone is).
 */
export function publisherAspect(previous: number | null, videoWidth: number, videoHeight: number): number | null {
  if (!(videoWidth > 0) || !(videoHeight > 0)) return previous;
  const a = videoWidth / videoHeight;
  if (previous !== null && Math.abs(a / previous - 1) <= 0.02) return previous;
  return a;
}

/** The fit a video element's computed `object-fit` stands for ("fill" and "scale-down" count as fitting). */
export function fitOf(objectFit: string): Fit {
  return objectFit === "cover" ? "cover" : "contain";
}

// The admin page's "Usage" card: meetings, participants and minutes per
// day or week as bar charts, and the most people in meetings at once as a
// line, drawn as SVG here (no chart library). Each chart is an image with
// a sentence that sums it up for screen readers, and the figures are also
// a table. Colours and type come from style.css (classes, never a style
// attribute: the CSP's style-src 'self' forbids those); positions are SVG
// attributes. The charts are redrawn at the card's width, so that their
// text stays readable on a phone.
//
// The pure parts (scales, ticks, labels, ranges) are exported for
// test/usage-chart.test.ts.

import type { Usage, UsageBucket, UsageBy } from "../api/admin.js";
import { asApiError } from "../api/http.js";
import { el, replace, setAttrs } from "./dom.js";
import { errorLine, setError } from "./forms.js";

// ---- pure parts ---------------------------------------------------------------------

/** Tick values from 0 to a round top at or above max, about `target` steps of 1, 2 or 5 × 10ⁿ (whole numbers: these are counts). */
export function niceTicks(max: number, target = 4): number[] {
  if (!(max > 0)) return [0, 1];
  const rough = max / target;
  const pow = 10 ** Math.floor(Math.log10(rough));
  let step = 10 * pow;
  for (const m of [1, 2, 5]) {
    if (m * pow >= rough) {
      step = m * pow;
      break;
    }
  }
  step = Math.max(1, Math.round(step));
  const top = Math.ceil(max / step) * step;
  const out: number[] = [];
  for (let v = 0; v <= top; v += step) out.push(v);
  return out;
}

/** A linear scale from [0, top] to [bottom, bottom - height] (SVG's y grows downwards). */
export function yScale(top: number, bottom: number, height: number): (v: number) => number {
  return (v) => bottom - (top > 0 ? (v / top) * height : 0);
}

/** The horizontal band of bucket i of n across a plot of the given width: its left edge, width, and centre. */
export function band(i: number, n: number, left: number, width: number): { x: number; w: number; mid: number } {
  const w = width / Math.max(1, n);
  return { x: left + i * w, w, mid: left + (i + 0.5) * w };
}

/** Every how many buckets an x-axis label fits, given the room one label needs. */
export function labelStride(n: number, plotWidth: number, labelWidth: number): number {
  if (n <= 0 || plotWidth <= 0) return 1;
  return Math.max(1, Math.ceil((n * labelWidth) / plotWidth));
}

/** 950 → "950", 1200 → "1.2k", 15000 → "15k", 2500000 → "2.5M": axis labels. */
export function compact(n: number): string {
  const fmt = (x: number, suffix: string): string => `${x >= 10 ? Math.round(x) : Math.round(x * 10) / 10}${suffix}`;
  if (n >= 1e6) return fmt(n / 1e6, "M");
  if (n >= 1e3) return fmt(n / 1e3, "k");
  return String(n);
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

function parts(date: string): { y: number; m: number; d: number; wd: number } {
  const [y, m, d] = date.split("-").map(Number) as [number, number, number];
  return { y, m, d, wd: new Date(Date.UTC(y, m - 1, d)).getUTCDay() };
}

/** A bucket's label under its bar: "4 Mar" (the day, or the first day of the week). */
export function shortLabel(b: Pick<UsageBucket, "start">): string {
  const p = parts(b.start);
  return `${p.d} ${MONTHS[p.m - 1]}`;
}

/** A bucket in full: "Wed 4 Mar 2026" by day; "2–8 Mar 2026", "23 Feb – 1 Mar 2026" or "29 Dec 2025 – 4 Jan 2026" by week. */
export function longLabel(b: Pick<UsageBucket, "start" | "end">, by: UsageBy): string {
  const s = parts(b.start);
  if (by === "day" || b.start === b.end) return `${WEEKDAYS[s.wd]} ${s.d} ${MONTHS[s.m - 1]} ${s.y}`;
  const e = parts(b.end);
  if (s.y !== e.y) return `${s.d} ${MONTHS[s.m - 1]} ${s.y} – ${e.d} ${MONTHS[e.m - 1]} ${e.y}`;
  if (s.m !== e.m) return `${s.d} ${MONTHS[s.m - 1]} – ${e.d} ${MONTHS[e.m - 1]} ${e.y}`;
  return `${s.d}–${e.d} ${MONTHS[s.m - 1]} ${s.y}`;
}

/** What a chart shows. */
export interface Series {
  key: "meetings" | "participants" | "participantMinutes" | "peakParticipants";
  title: string;
  /** What one unit is called, singular and plural. */
  unit: [string, string];
  kind: "bar" | "line";
}

export const SERIES: readonly Series[] = [
  { key: "meetings", title: "Meetings", unit: ["meeting", "meetings"], kind: "bar" },
  { key: "participants", title: "Participants", unit: ["participant", "participants"], kind: "bar" },
  { key: "participantMinutes", title: "Minutes in meetings", unit: ["minute", "minutes"], kind: "bar" },
  { key: "peakParticipants", title: "Most people in meetings at once", unit: ["person", "people"], kind: "line" },
];

function count(n: number, unit: [string, string]): string {
  return `${n.toLocaleString("en")} ${n === 1 ? unit[0] : unit[1]}`;
}

/** The sentence a screen reader hears for a chart: the period, the total (or, for the peak, the highest) and when it was highest. */
export function chartSummary(s: Series, u: Usage): string {
  const per = u.by === "day" ? "per day" : "per week";
  const period = longLabel({ start: u.from, end: u.to }, "week");
  let best: UsageBucket | undefined;
  for (const b of u.buckets) if (b[s.key] > 0 && (best === undefined || b[s.key] > best[s.key])) best = b;
  const head = `${s.title} ${per}, ${period}:`;
  if (best === undefined) return `${head} none.`;
  const when = `${u.by === "day" ? "on" : "in the week of"} ${longLabel(best, u.by)}`;
  if (s.kind === "line") return `${head} at most ${count(best[s.key], s.unit)}, ${when}.`;
  return `${head} ${count(u.totals[s.key], s.unit)} in all; the most, ${count(best[s.key], s.unit)}, ${when}.`;
}

/** The choices of period the card offers. */
export type RangeChoice = "30d" | "12w" | "6m" | "12m";

export const RANGES: readonly (readonly [RangeChoice, string])[] = [
  ["30d", "Last 30 days"],
  ["12w", "Last 12 weeks"],
  ["6m", "Last 6 months"],
  ["12m", "Last 12 months"],
];

function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** A period's first and last UTC dates, ending today (12 weeks: from the Monday of the week 11 weeks before this one). */
export function rangeFor(choice: RangeChoice, now: Date): { from: string; to: string } {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const day = 86_400_000;
  const back: Record<RangeChoice, number> = {
    "30d": 29,
    "12w": ((now.getUTCDay() + 6) % 7) + 7 * 11,
    "6m": 181,
    "12m": 364,
  };
  return { from: isoDate(today - back[choice] * day), to: isoDate(today) };
}

// ---- drawing ------------------------------------------------------------------------

const SVG = "http://www.w3.org/2000/svg";

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, ...children: (SVGElement | string)[]): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, tag);
  setAttrs(node, attrs);
  for (const c of children) node.append(c);
  return node;
}

const HEIGHT = 180;
const MARGIN = { top: 12, right: 12, bottom: 26, left: 44 };

/** One chart of a series at a width in pixels. */
export function drawChart(s: Series, u: Usage, width: number): SVGSVGElement {
  const n = u.buckets.length;
  const plotW = Math.max(1, width - MARGIN.left - MARGIN.right);
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const bottom = MARGIN.top + plotH;
  const values = u.buckets.map((b) => b[s.key]);
  const ticks = niceTicks(Math.max(0, ...values));
  const top = ticks[ticks.length - 1] ?? 1;
  const y = yScale(top, bottom, plotH);
  const root = svg("svg", {
    class: `usage-chart usage-chart-${s.kind}`,
    viewBox: `0 0 ${width} ${HEIGHT}`,
    width,
    height: HEIGHT,
    role: "img",
    "aria-label": chartSummary(s, u),
    "data-series": s.key,
  });
  const grid = svg("g", { class: "usage-grid", "aria-hidden": "true" });
  for (const t of ticks) {
    const ty = y(t);
    grid.append(
      svg("line", { x1: MARGIN.left, x2: MARGIN.left + plotW, y1: ty, y2: ty }),
      svg("text", { class: "usage-tick", x: MARGIN.left - 6, y: ty, "text-anchor": "end", "dominant-baseline": "middle" }, compact(t)),
    );
  }
  const stride = labelStride(n, plotW, 48);
  const axis = svg("g", { class: "usage-axis", "aria-hidden": "true" });
  u.buckets.forEach((b, i) => {
    if (i % stride !== 0) return;
    axis.append(svg("text", { class: "usage-tick", x: band(i, n, MARGIN.left, plotW).mid, y: bottom + 16, "text-anchor": "middle" }, shortLabel(b)));
  });
  root.append(grid, axis);
  const marks = svg("g", { class: "usage-marks" });
  const tip = (b: UsageBucket, v: number): SVGTitleElement => svg("title", {}, `${longLabel(b, u.by)}: ${count(v, s.unit)}`);
  if (s.kind === "bar") {
    u.buckets.forEach((b, i) => {
      const { x, w } = band(i, n, MARGIN.left, plotW);
      const gap = w > 4 ? Math.min(w * 0.2, 6) : 0;
      const v = b[s.key];
      marks.append(svg("rect", { class: "usage-bar", x: x + gap / 2, width: Math.max(1, w - gap), y: y(v), height: bottom - y(v), "data-value": v }, tip(b, v)));
    });
  } else {
    const points = u.buckets.map((b, i) => `${band(i, n, MARGIN.left, plotW).mid},${y(b[s.key])}`);
    marks.append(svg("polyline", { class: "usage-line", points: points.join(" ") }));
    u.buckets.forEach((b, i) => {
      const v = b[s.key];
      marks.append(svg("circle", { class: "usage-point", cx: band(i, n, MARGIN.left, plotW).mid, cy: y(v), r: n > 60 ? 1.5 : 3, "data-value": v }, tip(b, v)));
    });
  }
  root.append(marks, svg("line", { class: "usage-baseline", x1: MARGIN.left, x2: MARGIN.left + plotW, y1: bottom, y2: bottom, "aria-hidden": "true" }));
  return root;
}

/** The figures as a table: the charts' text alternative. */
function figuresTable(u: Usage): HTMLTableElement {
  const row = (cells: string[], head = false): HTMLTableRowElement =>
    el("tr", {}, ...cells.map((c, i) => (i === 0 || head ? el("th", { text: c, attrs: { scope: head ? "col" : "row" } }) : el("td", { text: c }))));
  const cells = (b: UsageBucket): string[] => [b.meetings, b.participants, b.participantMinutes, b.peakParticipants].map((n) => n.toLocaleString("en"));
  return el(
    "table",
    { id: "usage-table", class: "table usage-table" },
    el("thead", {}, row([u.by === "day" ? "Day" : "Week", ...SERIES.map((s) => s.title)], true)),
    el("tbody", {}, ...u.buckets.map((b) => row([longLabel(b, u.by), ...cells(b)]))),
    el("tfoot", {}, row(["All (the highest for people at once)", ...cells(u.totals)])),
  );
}

export interface UsageHooks {
  load(from: string, to: string, by: UsageBy): Promise<Usage>;
  now(): Date;
}

/** The "Usage" card: it loads its figures itself, so the rest of the page does not wait for them. */
export function usageSection(hooks: UsageHooks): HTMLElement {
  const error = errorLine("usage-error");
  const range = el("select", { id: "usage-range" }, ...RANGES.map(([value, text]) => el("option", { text, props: { value } })));
  const byRadio = (by: UsageBy, label: string): { root: HTMLLabelElement; input: HTMLInputElement } => {
    const input = el("input", { id: `usage-by-${by}`, attrs: { type: "radio", name: "usage-by", value: by } });
    return { root: el("label", { class: "usage-by" }, input, ` ${label}`), input };
  };
  const byDay = byRadio("day", "By day");
  const byWeek = byRadio("week", "By week");
  byDay.input.checked = true;
  const totals = el("dl", { id: "usage-totals", class: "usage-totals" });
  const charts = el("div", { id: "usage-charts", class: "usage-charts", attrs: { "aria-live": "polite", "aria-busy": "true" } });
  const table = el("div", { class: "table-wrap" });
  const root = el(
    "section",
    { id: "usage", class: "card", attrs: { "aria-labelledby": "usage-title" } },
    el("h2", { id: "usage-title", text: "Usage" }),
    el("p", { class: "hint", text: "Totals over the whole server by UTC day: how many meetings started, how many times people were let in, the minutes they spent, and the most people in meetings at once. Nothing here names a meeting or a person." }),
    el(
      "div",
      { class: "usage-controls" },
      el("div", { class: "field" }, el("label", { text: "Period", attrs: { for: "usage-range" } }), range),
      el("fieldset", { class: "usage-by-group" }, el("legend", { text: "Show" }), el("div", { class: "usage-by-options" }, byDay.root, byWeek.root)),
    ),
    error,
    totals,
    charts,
    el("details", { id: "usage-details", class: "disclosure" }, el("summary", { text: "Show the figures as a table" }), table),
  );

  let shown: Usage | undefined;
  let drawnWidth = 0;
  let loading = 0;
  /** The width a chart has: its figure's (two side by side on a wide screen, one on a narrow one). */
  const figureWidth = (): number => Math.floor((charts.firstElementChild as HTMLElement | null)?.clientWidth ?? 0);
  const draw = (): void => {
    if (!shown) return;
    const u = shown;
    const figures = SERIES.map((s) => el("figure", { class: "usage-figure", attrs: { "data-series": s.key } }, el("figcaption", { text: `${s.title} per ${u.by}` })));
    replace(charts, ...figures);
    const width = figureWidth() || 600; // 0 until the card is on the page; the observer draws again then
    drawnWidth = width;
    for (const [i, s] of SERIES.entries()) figures[i]?.append(drawChart(s, u, width));
  };
  const render = (u: Usage): void => {
    shown = u;
    replace(
      totals,
      ...(
        [
          ["Meetings", u.totals.meetings],
          ["Participants", u.totals.participants],
          ["Minutes in meetings", u.totals.participantMinutes],
          ["Most at once", u.totals.peakParticipants],
        ] as const
      ).map(([k, v]) => el("div", {}, el("dt", { text: k }), el("dd", { text: v.toLocaleString("en") }))),
    );
    replace(table, figuresTable(u));
    draw();
    charts.setAttribute("aria-busy", "false");
  };
  const reload = async (): Promise<void> => {
    const mine = ++loading;
    const { from, to } = rangeFor(range.value as RangeChoice, hooks.now());
    charts.setAttribute("aria-busy", "true");
    try {
      const u = await hooks.load(from, to, byWeek.input.checked ? "week" : "day");
      if (mine !== loading) return; // a newer choice is on its way
      setError(error, null);
      render(u);
    } catch (e) {
      if (mine === loading) setError(error, asApiError(e).message);
    }
  };
  range.addEventListener("change", () => {
    // A period in weeks is shown by week, one in days by day; either can be switched after.
    const weekly = range.value !== "30d";
    byWeek.input.checked = weekly;
    byDay.input.checked = !weekly;
    void reload();
  });
  byDay.input.addEventListener("change", () => void reload());
  byWeek.input.addEventListener("change", () => void reload());
  if (typeof ResizeObserver !== "undefined") {
    let pending = false;
    new ResizeObserver(() => {
      if (pending || figureWidth() === drawnWidth) return;
      pending = true;
      requestAnimationFrame(() => {
        pending = false;
        draw();
      });
    }).observe(charts);
  }
  void reload();
  return root;
}

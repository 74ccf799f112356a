// Line icons drawn with SVG DOM calls (no markup strings, no icon font).

const SVG = "http://www.w3.org/2000/svg";

type Shape = [tag: "path" | "rect" | "circle" | "line", attrs: Record<string, string | number>];

const SHAPES = {
  mic: [
    ["rect", { x: 9, y: 3, width: 6, height: 11, rx: 3 }],
    ["path", { d: "M5.5 11a6.5 6.5 0 0 0 13 0" }],
    ["line", { x1: 12, y1: 17.5, x2: 12, y2: 21 }],
  ],
  micOff: [
    ["path", { d: "M15 10.5V6a3 3 0 0 0-5.6-1.5" }],
    ["path", { d: "M9 9v2a3 3 0 0 0 4.9 2.3" }],
    ["path", { d: "M5.5 11a6.5 6.5 0 0 0 10.6 5" }],
    ["path", { d: "M18.5 11c0 .8-.1 1.5-.4 2.2" }],
    ["line", { x1: 12, y1: 17.5, x2: 12, y2: 21 }],
    ["line", { x1: 3, y1: 3, x2: 21, y2: 21 }],
  ],
  camera: [
    ["rect", { x: 2.5, y: 6, width: 13, height: 12, rx: 2 }],
    ["path", { d: "M15.5 10.5 21.5 7v10l-6-3.5z" }],
  ],
  cameraOff: [
    ["path", { d: "M10 6h3.5a2 2 0 0 1 2 2v3.5l6-4.5v10" }],
    ["path", { d: "M15.5 15.5V16a2 2 0 0 1-2 2h-9a2 2 0 0 1-2-2V8a2 2 0 0 1 2-2" }],
    ["line", { x1: 3, y1: 3, x2: 21, y2: 21 }],
  ],
  screen: [
    ["rect", { x: 2.5, y: 4, width: 19, height: 13, rx: 2 }],
    ["path", { d: "M8 21h8M12 17v4" }],
    ["path", { d: "M12 14V8M9 10.5 12 7.5l3 3" }],
  ],
  screenStop: [
    ["rect", { x: 2.5, y: 4, width: 19, height: 13, rx: 2 }],
    ["path", { d: "M8 21h8M12 17v4" }],
    ["path", { d: "M9.5 8l5 5M14.5 8l-5 5" }],
  ],
  people: [
    ["circle", { cx: 9, cy: 8, r: 3.5 }],
    ["path", { d: "M2.5 20a6.5 6.5 0 0 1 13 0" }],
    ["circle", { cx: 17, cy: 9, r: 2.5 }],
    ["path", { d: "M16.5 14a5 5 0 0 1 5 5" }],
  ],
  leave: [
    ["path", { d: "M2.5 13.5c5.2-4.7 13.8-4.7 19 0l-2.3 2.8-3.7-1.4v-2.6a11 11 0 0 0-7 0v2.6l-3.7 1.4z" }],
  ],
  copy: [
    ["rect", { x: 8.5, y: 8.5, width: 12, height: 12, rx: 2 }],
    ["path", { d: "M15.5 5.5V5a2 2 0 0 0-2-2H5a2 2 0 0 0-2 2v8.5a2 2 0 0 0 2 2h.5" }],
  ],
  close: [["path", { d: "M6 6l12 12M18 6 6 18" }]],
  lock: [
    ["rect", { x: 4.5, y: 10.5, width: 15, height: 10, rx: 2 }],
    ["path", { d: "M8 10.5V7.5a4 4 0 0 1 8 0v3" }],
  ],
  unlock: [
    ["rect", { x: 4.5, y: 10.5, width: 15, height: 10, rx: 2 }],
    ["path", { d: "M8 10.5V7.5a4 4 0 0 1 7.7-1.5" }],
  ],
  shield: [
    ["path", { d: "M12 3 4.5 6v5.5c0 4.5 3.2 8.2 7.5 9.5 4.3-1.3 7.5-5 7.5-9.5V6z" }],
    ["path", { d: "M9 12l2 2 4-4" }],
  ],
  more: [
    ["circle", { cx: 12, cy: 5.5, r: 1.2 }],
    ["circle", { cx: 12, cy: 12, r: 1.2 }],
    ["circle", { cx: 12, cy: 18.5, r: 1.2 }],
  ],
  calendar: [
    ["rect", { x: 3.5, y: 5, width: 17, height: 15.5, rx: 2 }],
    ["path", { d: "M3.5 10h17M8 3v4M16 3v4" }],
  ],
  hourglass: [["path", { d: "M7 3h10M7 21h10M8 3c0 5 8 5 8 9s-8 4-8 9M16 3c0 5-8 5-8 9s8 4 8 9" }]],
  plus: [["path", { d: "M12 5v14M5 12h14" }]],
  grid: [
    ["rect", { x: 3.5, y: 4.5, width: 7.5, height: 6.5, rx: 1.5 }],
    ["rect", { x: 13, y: 4.5, width: 7.5, height: 6.5, rx: 1.5 }],
    ["rect", { x: 3.5, y: 13, width: 7.5, height: 6.5, rx: 1.5 }],
    ["rect", { x: 13, y: 13, width: 7.5, height: 6.5, rx: 1.5 }],
  ],
  speakerView: [
    ["rect", { x: 3.5, y: 3.5, width: 17, height: 11, rx: 1.5 }],
    ["path", { d: "M3.5 18.5h4M10 18.5h4M16.5 18.5h4" }],
  ],
  expand: [["path", { d: "M4 9V4h5M15 4h5v5M20 15v5h-5M9 20H4v-5" }]],
  shrink: [["path", { d: "M9 4v5H4M20 9h-5V4M15 20v-5h5M4 15h5v5" }]],
  chat: [["path", { d: "M4 5.5A1.5 1.5 0 0 1 5.5 4h13A1.5 1.5 0 0 1 20 5.5v9a1.5 1.5 0 0 1-1.5 1.5H10l-4.5 4v-4h0A1.5 1.5 0 0 1 4 14.5z" }]],
  settings: [
    ["circle", { cx: 12, cy: 12, r: 3 }],
    ["path", { d: "M12 2.5v3M12 18.5v3M2.5 12h3M18.5 12h3M5.3 5.3l2.1 2.1M16.6 16.6l2.1 2.1M5.3 18.7l2.1-2.1M16.6 7.4l2.1-2.1" }],
  ],
  smile: [
    ["circle", { cx: 12, cy: 12, r: 9 }],
    ["path", { d: "M8 14a4.5 4.5 0 0 0 8 0" }],
    ["line", { x1: 9, y1: 9.5, x2: 9, y2: 10 }],
    ["line", { x1: 15, y1: 9.5, x2: 15, y2: 10 }],
  ],
  hand: [
    [
      "path",
      {
        d: "M8 12.5V5.5a1.5 1.5 0 0 1 3 0V11M11 10.5V4a1.5 1.5 0 0 1 3 0v6.5M14 10.5V5.5a1.5 1.5 0 0 1 3 0v6M17 11V8.5a1.5 1.5 0 0 1 3 0V14a7 7 0 0 1-7 7h-.8a6.5 6.5 0 0 1-5.1-2.5L3.6 14.9a1.6 1.6 0 0 1 2.5-2L8 14.5",
      },
    ],
  ],
  poll: [
    ["path", { d: "M3.5 20.5h17" }],
    ["rect", { x: 5, y: 11, width: 3.5, height: 6.5, rx: 1 }],
    ["rect", { x: 10.25, y: 5, width: 3.5, height: 12.5, rx: 1 }],
    ["rect", { x: 15.5, y: 8.5, width: 3.5, height: 9, rx: 1 }],
  ],
  rooms: [
    ["rect", { x: 3, y: 3.5, width: 7.5, height: 7.5, rx: 1.5 }],
    ["rect", { x: 13.5, y: 3.5, width: 7.5, height: 7.5, rx: 1.5 }],
    ["rect", { x: 8.25, y: 13, width: 7.5, height: 7.5, rx: 1.5 }],
  ],
  logo: [
    ["rect", { x: 2.5, y: 5, width: 13, height: 14, rx: 3 }],
    ["path", { d: "M15.5 10.5 21.5 7v10l-6-3.5z" }],
    ["circle", { cx: 9, cy: 12, r: 2.5 }],
  ],
} satisfies Record<string, Shape[]>;

export type IconName = keyof typeof SHAPES;

export function icon(name: IconName, extraClass = ""): SVGSVGElement {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.setAttribute("class", extraClass ? `icon ${extraClass}` : "icon");
  for (const [tag, attrs] of SHAPES[name] as Shape[]) {
    const shape = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) shape.setAttribute(k, String(v));
    svg.appendChild(shape);
  }
  return svg;
}

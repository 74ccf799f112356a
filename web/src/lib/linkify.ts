// Chat text as the chat panel shows it: plain text, where only https: web
// addresses become links (product problem P8: chat that turned Windows UNC
// paths into links leaked credentials). file:, javascript:, data:, http:,
// \\host\share and everything else stay text. Pure, so node tests it; the
// panel turns the pieces into text nodes and <a> elements.

export type Piece = { text: string } | { text: string; href: string };

// An https URL runs to the next white space; closing punctuation that
// usually ends a sentence is not part of it.
const URL = /https:\/\/[^\s<>"'`]+/gi;
const TRAILING = /[.,;:!?)\]}»”’]+$/;

export function linkify(text: string): Piece[] {
  const out: Piece[] = [];
  let last = 0;
  for (const m of text.matchAll(URL)) {
    let url = m[0];
    const trail = TRAILING.exec(url);
    if (trail) url = url.slice(0, url.length - trail[0].length);
    const start = m.index ?? 0;
    const href = safeHttps(url);
    if (href === null) continue;
    if (start > last) out.push({ text: text.slice(last, start) });
    out.push({ text: url, href });
    last = start + url.length;
  }
  if (last < text.length) out.push({ text: text.slice(last) });
  return out;
}

/** The URL normalised, if it is a well-formed https URL with a host; else null. */
function safeHttps(s: string): string | null {
  let u: URL;
  try {
    u = new globalThis.URL(s);
  } catch {
    return null;
  }
  if (u.protocol !== "https:" || u.hostname === "" || u.username !== "" || u.password !== "") return null;
  return u.href;
}

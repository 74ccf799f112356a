// Meeting IDs: 16 characters of Crockford base32 in four dash-separated groups
// (docs/protocol.md, "Identifiers"), and reading one from what a person pastes
// into the join form: a full link, a path, or the ID itself.

const ALPHABET = /^[0-9abcdefghjkmnpqrstvwxyz]{16}$/;

/**
 * Normalises a meeting ID the way the server does (lower case, dashes in four
 * groups) and returns null when it cannot be one. Spaces and dashes anywhere
 * are ignored. Like Crockford's decoder, it reads the letters that the
 * alphabet leaves out as the digits they look like (o → 0, i and l → 1), since
 * those can only be typing mistakes; u stays invalid.
 */
export function normalizeMeetingId(input: string): string | null {
  const compact = input
    .toLowerCase()
    .replace(/[\s-]/g, "")
    .replace(/o/g, "0")
    .replace(/[il]/g, "1");
  if (!ALPHABET.test(compact)) return null;
  return compact.match(/.{4}/g)!.join("-");
}

/**
 * Reads a meeting ID from the join form: a link such as
 * https://kaigi.example/m/7k3m-q9xd-2hfa-b8rn (any origin: links are shared
 * between people, and the ID is what matters), a path /m/..., or a bare ID.
 * Returns the normalised ID or null.
 */
export function meetingIdFromInput(input: string): string | null {
  const text = input.trim();
  if (text === "") return null;
  const path = pathOf(text);
  if (path !== null) {
    const m = /^\/m\/([^/?#]+)\/?$/.exec(path);
    return m ? normalizeMeetingId(decodeURIComponent(m[1]!)) : null;
  }
  return normalizeMeetingId(text);
}

function pathOf(text: string): string | null {
  if (text.startsWith("/")) return text.replace(/[?#].*$/, "");
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text) || /^[^\s/]+\.[^\s/]+\/m\//i.test(text)) {
    try {
      const url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`);
      if (url.protocol !== "https:" && url.protocol !== "http:") return null;
      return url.pathname;
    } catch {
      return null;
    }
  }
  return null;
}

/** The meeting ID in a page path /m/{id}, as written (not yet normalised), or null. */
export function meetingIdFromPath(pathname: string): string | null {
  const m = /^\/m\/([^/]+)\/?$/.exec(pathname);
  if (!m) return null;
  try {
    return decodeURIComponent(m[1]!);
  } catch {
    return null;
  }
}

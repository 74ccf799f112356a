// Where to go after signing in. The sign-in page takes the page to return to
// in `?next=`; only a path on this site is followed, never another origin
// (an open redirect would let a phishing link borrow Kaigi's address).

/** `raw` if it is a path on this origin ("/m/…", "/account"), else "/". */
export function safeNext(raw: string | null | undefined): string {
  if (!raw?.startsWith("/") || raw.startsWith("//") || raw.startsWith("/\\")) return "/";
  // Control characters and backslashes have no place in our paths, and some
  // browsers read "/\evil.example" as another host.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses.
  if (/[\u0000-\u001f\u007f\\]/.test(raw)) return "/";
  return raw;
}

/** The sign-in page, returning to `next` afterwards. */
export function signInPath(next: string): string {
  const n = safeNext(next);
  return n === "/" ? "/signin" : `/signin?next=${encodeURIComponent(n)}`;
}

/** `?next=` of a query string, made safe. */
export function nextFromQuery(search: string): string {
  return safeNext(new URLSearchParams(search).get("next"));
}

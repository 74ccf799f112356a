// Meeting passcodes in invite links. The owner's invite link carries the
// passcode in the fragment (`/m/{id}#pwd=123456789`), which browsers never
// send to the server. The pre-join screen takes it from there, then removes
// the fragment from the address bar so it is not left in view or in history.

export const PASSCODE_MAX = 64;

/**
 * The passcode in a location fragment such as "#pwd=123456789" (other
 * parameters may come with it, as in "#pwd=1&x=2"), or null when there is
 * none. Spaces are dropped, as the server ignores them.
 */
export function passcodeFromFragment(hash: string): string | null {
  const body = hash.startsWith("#") ? hash.slice(1) : hash;
  if (body === "") return null;
  let value: string | null;
  try {
    value = new URLSearchParams(body).get("pwd");
  } catch {
    return null;
  }
  if (value === null) return null;
  const code = cleanPasscode(value);
  return code === "" || code.length > PASSCODE_MAX ? null : code;
}

/** A typed passcode as hello sends it: spaces anywhere removed. */
export function cleanPasscode(typed: string): string {
  return typed.replace(/\s+/g, "");
}

/** Whether a fragment carries anything that should not stay in the address bar. */
export function fragmentHasPasscode(hash: string): boolean {
  const body = hash.startsWith("#") ? hash.slice(1) : hash;
  try {
    return new URLSearchParams(body).has("pwd");
  } catch {
    return false;
  }
}

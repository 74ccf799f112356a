// The JSON API's plumbing (docs/api.md, "Conventions"): requests with the
// session cookie, errors as ApiError with the server's code and sentence, and
// small readers that check the shape of what came back.

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** The error to show for anything that is not an ApiError. */
export function asApiError(e: unknown, fallback = "Something went wrong. Try again."): ApiError {
  return e instanceof ApiError ? e : new ApiError("unavailable", fallback, 0);
}

async function errorOf(res: Response): Promise<ApiError> {
  let code = "unavailable";
  let message = `The server answered ${res.status}.`;
  try {
    const body: unknown = await res.json();
    const e = (body as { error?: { code?: unknown; message?: unknown } }).error;
    if (e && typeof e.code === "string") code = e.code;
    if (e && typeof e.message === "string") message = e.message;
  } catch {
    // not JSON: keep the generic words
  }
  return new ApiError(code, message, res.status);
}

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

let reauthPrompt: (() => Promise<boolean>) | null = null;

/**
 * Sets what a request answered reauth_required does: prompt resolves true
 * once the person re-authenticated (the request is then sent again), false
 * if they gave up (the request fails with reauth_required).
 */
export function onReauthRequired(prompt: (() => Promise<boolean>) | null): void {
  reauthPrompt = prompt;
}

/**
 * Sends a request and returns the decoded JSON answer (null for 204), or
 * throws ApiError: the server's own when it sent one.
 */
export async function call(method: Method, path: string, body?: unknown): Promise<unknown> {
  const init: RequestInit = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers = { Accept: "application/json", "Content-Type": "application/json" };
    init.body = JSON.stringify(body);
  }
  let res: Response;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError("unavailable", "The server could not be reached. Check your connection and try again.", 0);
  }
  if (!res.ok) {
    const err = await errorOf(res);
    // A sensitive action outside the re-authentication window: ask the
    // person to confirm it is them (ui/reauth-prompt.ts), then send it once more.
    if (err.code === "reauth_required" && reauthPrompt !== null && (await reauthPrompt())) return call(method, path, body);
    throw err;
  }
  if (res.status === 204) return null;
  try {
    return (await res.json()) as unknown;
  } catch {
    throw notUnderstood(res.status);
  }
}

export function notUnderstood(status = 200): ApiError {
  return new ApiError("unavailable", "The server's answer was not understood.", status);
}

// ---- reading answers ----------------------------------------------------------------

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function obj(v: unknown): Obj {
  if (!isObj(v)) throw notUnderstood();
  return v;
}

export function str(o: Obj, key: string): string {
  const v = o[key];
  if (typeof v !== "string") throw notUnderstood();
  return v;
}

export function optStr(o: Obj, key: string): string | undefined {
  const v = o[key];
  return typeof v === "string" ? v : undefined;
}

export function list(o: Obj, key: string): unknown[] {
  const v = o[key];
  if (!Array.isArray(v)) throw notUnderstood();
  return v;
}

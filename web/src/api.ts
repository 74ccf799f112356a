// The HTTP endpoints the client uses (docs/protocol.md, "HTTP endpoints").

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export interface CreatedMeeting {
  id: string;
  url: string;
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

async function request(path: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(path, { ...init, credentials: "same-origin", headers: { Accept: "application/json", ...init.headers } });
  } catch {
    throw new ApiError("unavailable", "The server could not be reached. Check your connection and try again.", 0);
  }
}

/** POST /api/meetings: a new meeting and its absolute join URL. */
export async function createMeeting(): Promise<CreatedMeeting> {
  const res = await request("/api/meetings", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: "{}",
  });
  if (res.status !== 201 && res.status !== 200) throw await errorOf(res);
  const body: unknown = await res.json().catch(() => null);
  const b = body as Partial<CreatedMeeting> | null;
  if (!b || typeof b.id !== "string" || typeof b.url !== "string") {
    throw new ApiError("unavailable", "The server's answer was not understood.", res.status);
  }
  return { id: b.id, url: b.url };
}

/** GET /api/meetings/{id}: the meeting's normalised ID, or an ApiError (code meeting_not_found on 404). */
export async function lookupMeeting(id: string): Promise<string> {
  const res = await request(`/api/meetings/${encodeURIComponent(id)}`, { method: "GET" });
  if (res.status === 404) {
    const e = await errorOf(res);
    throw new ApiError("meeting_not_found", e.code === "meeting_not_found" ? e.message : "There is no meeting at this link. Check the link, or ask the host for a new one.", 404);
  }
  if (!res.ok) throw await errorOf(res);
  const body: unknown = await res.json().catch(() => null);
  const got = (body as { id?: unknown } | null)?.id;
  return typeof got === "string" ? got : id;
}

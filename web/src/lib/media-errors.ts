// What went wrong when asking for a camera or microphone, in words a person
// can act on. Pure: takes the error's name, so it can be tested without a browser.

export type MediaProblemCode = "media_denied" | "no_device";

export interface MediaProblem {
  code: MediaProblemCode;
  message: string;
}

export type Device = "microphone" | "camera" | "camera and microphone";

/**
 * Classifies a getUserMedia failure by its DOMException name. `insecure` is
 * true when the page has no navigator.mediaDevices at all (not a secure context).
 */
export function mediaProblem(errorName: string | null, what: Device, insecure = false): MediaProblem {
  if (insecure) {
    return {
      code: "media_denied",
      message: `This page is not served over HTTPS, so the browser does not allow it to use your ${what}. You can still join to watch and listen.`,
    };
  }
  switch (errorName) {
    case "NotAllowedError":
    case "SecurityError":
      return {
        code: "media_denied",
        message: `Kaigi is not allowed to use your ${what}. You can still join to watch and listen, or allow access in your browser's site settings (usually the icon in the address bar) and reload the page.`,
      };
    case "NotReadableError":
    case "AbortError":
      return {
        code: "no_device",
        message: `Your ${what} could not be started; another application may be using it. You can still join to watch and listen.`,
      };
    default:
      // NotFoundError, OverconstrainedError and anything unexpected.
      return {
        code: "no_device",
        message: `No ${what} was found. You can still join to watch and listen.`,
      };
  }
}

/** The error name of a thrown value (DOMException or anything else). */
export function errorName(e: unknown): string | null {
  if (typeof e === "object" && e !== null && "name" in e && typeof (e as { name: unknown }).name === "string") {
    return (e as { name: string }).name;
  }
  return null;
}

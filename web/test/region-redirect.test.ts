import assert from "node:assert/strict";
import { test } from "node:test";
import { parseAdmission } from "../src/api/admission.js";
import { parseServerMessage } from "../src/meeting/protocol.js";
import { fragmentWithPasscode, redirectLine, redirectOrigin, redirectTarget } from "../src/meeting/region-redirect.js";
import { SignalClient, type SocketLike } from "../src/meeting/signal.js";
import { FakeClock } from "./fake-clock.js";

const here = { origin: "https://us1.meet.example.org", pathname: "/m/abc-defg-hij", search: "", hash: "#k=secret-of-the-link" };

test("a region redirect goes to the same meeting link on the node's origin, fragment kept", () => {
  assert.equal(redirectTarget("https://eu1.meet.example.org", here), "https://eu1.meet.example.org/m/abc-defg-hij#k=secret-of-the-link");
  assert.equal(redirectTarget("http://127.0.0.1:8081/", { ...here, search: "?e2ee=1" }), "http://127.0.0.1:8081/m/abc-defg-hij?e2ee=1#k=secret-of-the-link");
  // Only the origin of what the server said: its path, query and fragment are not the link's.
  assert.equal(redirectTarget("https://eu1.meet.example.org/elsewhere?x=1#y", here), "https://eu1.meet.example.org/m/abc-defg-hij#k=secret-of-the-link");
});

test("only an http(s) URL with a host is followed", () => {
  for (const bad of ["javascript:alert(1)", "data:text/html,x", "ftp://eu1.meet.example.org", "//eu1.meet.example.org", "/m/other", "eu1.meet.example.org",
    "https://user:pw@eu1.meet.example.org", "", `https://${"a".repeat(2100)}.org`, 7, null, undefined, { url: "https://eu1.meet.example.org" }]) {
    assert.equal(redirectOrigin(bad), null, JSON.stringify(bad));
    assert.equal(redirectTarget(bad, here), null, JSON.stringify(bad));
  }
  // Never back to this very page.
  assert.equal(redirectTarget("https://us1.meet.example.org/", here), null);
});

test("the line says where the meeting is kept and where the page goes", () => {
  const to = "https://eu1.meet.example.org/m/abc-defg-hij#k=secret-of-the-link";
  assert.equal(redirectLine(["eu"], to), "This meeting is kept in region eu; taking you to eu1.meet.example.org.");
  assert.equal(redirectLine(["eu", "eu-west"], to), "This meeting is kept in region eu, eu-west; taking you to eu1.meet.example.org.");
  assert.equal(redirectLine(null, to), "This meeting is kept in another region; taking you to eu1.meet.example.org.");
});

test("the socket's refusal and the pre-join check carry a redirect only as an http(s) origin", () => {
  const refused = (redirect: unknown, code = "region_not_allowed") => {
    const r = parseServerMessage(JSON.stringify({ type: "refused", code, message: "No.", redirect }));
    assert.ok(r.ok && r.message.type === "refused");
    return r.message.type === "refused" ? r.message.redirect : undefined;
  };
  assert.equal(refused("https://eu1.meet.example.org"), "https://eu1.meet.example.org");
  assert.equal(refused("javascript:alert(1)"), null);
  assert.equal(refused(undefined), null);
  assert.equal(refused("https://eu1.meet.example.org", "wrong_passcode"), null, "only a region refusal redirects");

  assert.equal(parseAdmission({ banned: false, regions: ["eu"], regionNotAllowed: "Not here.", regionRedirect: "https://eu1.meet.example.org" }).regionRedirect, "https://eu1.meet.example.org");
  assert.equal(parseAdmission({ banned: false, regions: ["eu"], regionNotAllowed: "Not here.", regionRedirect: "javascript:x" }).regionRedirect, null);
  // A redirect without a refusal means nothing.
  assert.equal(parseAdmission({ banned: false, regionRedirect: "https://eu1.meet.example.org" }).regionRedirect, null);
});

test("from within a session, the passcode it joins with goes back into the carried fragment", () => {
  assert.equal(fragmentWithPasscode("#e2ee=1", "123456789"), "#pwd=123456789&e2ee=1");
  assert.equal(fragmentWithPasscode("#pwd=111&e2ee=0", "222"), "#pwd=222&e2ee=0");
  assert.equal(fragmentWithPasscode("", undefined), "");
  assert.equal(fragmentWithPasscode("#e2ee=1", undefined), "#e2ee=1");
  assert.equal(fragmentWithPasscode("#e2ee=1", ""), "#e2ee=1");
});

/** A socket the test plays the server of. */
class Socket implements SocketLike {
  readyState = 0;
  onopen: ((ev: Event) => void) | null = null;
  onmessage: ((ev: MessageEvent) => void) | null = null;
  onclose: ((ev: CloseEvent) => void) | null = null;
  onerror: ((ev: Event) => void) | null = null;
  send(): void {}
  close(): void {
    this.readyState = 3;
  }
}

/** A session refused with `refused` msg on a page at `here`: where it went, and what it said. */
function refusedSession(msg: Record<string, unknown>): { went: string[]; fatals: [string, string][] } {
  const went: string[] = [];
  const fatals: [string, string][] = [];
  const page = { ...here, hash: "#e2ee=0", assign: (u: string) => went.push(u) };
  Object.defineProperty(globalThis, "location", { value: page, configurable: true });
  try {
    let socket: Socket | null = null;
    const client = new SignalClient({
      url: "ws://test/ws",
      hello: () => ({ meeting: "abc-defg-hij", name: "Una", passcode: "123456789", audio: false, video: false }),
      connect: () => {
        socket = new Socket();
        return socket;
      },
      clock: new FakeClock(),
      events: { welcome: () => {}, waiting: () => {}, message: () => {}, lost: () => {}, fatal: (code, message) => fatals.push([code, message]) },
    });
    client.start();
    const s = socket as Socket | null;
    if (s === null) throw new Error("no socket");
    s.readyState = 1;
    s.onopen?.({} as Event);
    s.onmessage?.({ data: JSON.stringify({ type: "refused", ...msg }) } as MessageEvent);
  } finally {
    Reflect.deleteProperty(globalThis, "location");
  }
  return { went, fatals };
}

test("a session refused with a region redirect goes to the same link there, with the passcode it joined with", () => {
  const r = refusedSession({ code: "region_not_allowed", message: "Not here.", redirect: "https://eu1.meet.example.org" });
  assert.deepEqual(r.went, ["https://eu1.meet.example.org/m/abc-defg-hij#pwd=123456789&e2ee=0"]);
  assert.deepEqual(r.fatals, [["region_not_allowed", "This meeting is kept in another region; taking you to eu1.meet.example.org."]]);
  // Without a redirect, or with one that is no http(s) URL: the refusal, and the page stays.
  for (const redirect of [undefined, "javascript:alert(1)"]) {
    const s = refusedSession({ code: "region_not_allowed", message: "Not here.", redirect });
    assert.deepEqual(s.went, []);
    assert.deepEqual(s.fatals, [["region_not_allowed", "Not here."]]);
  }
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { parseAdmission } from "../src/api/admission.js";
import { parseServerMessage } from "../src/meeting/protocol.js";
import { redirectLine, redirectOrigin, redirectTarget } from "../src/meeting/region-redirect.js";

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

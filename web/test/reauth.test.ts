import assert from "node:assert/strict";
import { test } from "node:test";
import { ApiError, call, onReauthRequired } from "../src/api/http.js";
import { ssoProblem } from "../src/api/sso.js";

// A fetch that answers from a list, recording the requests.
function answers(...replies: [number, unknown][]): { sent: string[]; restore: () => void } {
  const saved = globalThis.fetch;
  const sent: string[] = [];
  globalThis.fetch = (async (path: string, init?: RequestInit) => {
    sent.push(`${init?.method} ${path} ${String(init?.body ?? "")}`);
    const next = replies.shift();
    if (next === undefined) throw new Error("no more answers");
    return new Response(JSON.stringify(next[1]), { status: next[0], headers: { "Content-Type": "application/json" } });
  }) as typeof fetch;
  return { sent, restore: () => (globalThis.fetch = saved) };
}

const refused = { error: { code: "reauth_required", message: "Confirm it is you first." } };

test("a request answered reauth_required is sent again once the person re-authenticated", async () => {
  const f = answers([403, refused], [201, { secret: "s" }]);
  let prompts = 0;
  onReauthRequired(async () => {
    prompts++;
    return true;
  });
  try {
    assert.deepEqual(await call("POST", "/api/me/tokens", { name: "ci" }), { secret: "s" });
    assert.equal(prompts, 1);
    assert.deepEqual(f.sent, ['POST /api/me/tokens {"name":"ci"}', 'POST /api/me/tokens {"name":"ci"}']);
  } finally {
    onReauthRequired(null);
    f.restore();
  }
});

test("a person who gives up gets the server's refusal, and nothing is sent again", async () => {
  const f = answers([403, refused]);
  onReauthRequired(async () => false);
  try {
    await assert.rejects(call("POST", "/api/me/tokens", { name: "ci" }), (e: unknown) => e instanceof ApiError && e.code === "reauth_required" && e.status === 403);
    assert.equal(f.sent.length, 1);
  } finally {
    onReauthRequired(null);
    f.restore();
  }
});

test("other refusals do not prompt", async () => {
  const f = answers([401, { error: { code: "bad_credentials", message: "Wrong e-mail or password." } }]);
  let prompts = 0;
  onReauthRequired(async () => {
    prompts++;
    return true;
  });
  try {
    await assert.rejects(call("POST", "/api/auth/reauth", { password: "x" }), (e: unknown) => e instanceof ApiError && e.code === "bad_credentials");
    assert.equal(prompts, 0);
  } finally {
    onReauthRequired(null);
    f.restore();
  }
});

test("single sign-on's linking refusals have sentences of their own", () => {
  const first = ssoProblem("?sso=sso_sign_in_first");
  assert.ok(first?.includes("link single sign-on from your security settings"), String(first));
  const refusedLink = ssoProblem("?sso=sso_link_refused");
  assert.ok(refusedLink?.includes("cannot be linked"), String(refusedLink));
});

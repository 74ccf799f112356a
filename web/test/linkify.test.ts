import assert from "node:assert/strict";
import { test } from "node:test";
import { linkify } from "../src/lib/linkify.js";

const links = (t: string) => linkify(t).filter((p) => "href" in p).map((p) => (p as { href: string }).href);

test("only https addresses become links", () => {
  assert.deepEqual(links("see https://example.org/doc?a=1#x for it"), ["https://example.org/doc?a=1#x"]);
  for (const bad of [
    "\\\\fileserver\\share\\secret.doc",
    "file:///etc/passwd",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "http://example.org",
    "ftp://example.org",
    "mailto:a@example.org",
    "smb://host/share",
    "https://user:pass@example.org/",
    "https://",
    "www.example.org",
  ]) {
    assert.deepEqual(links(bad), [], bad);
  }
});

test("the text around links is kept whole, and trailing punctuation is not part of a link", () => {
  const pieces = linkify("Agenda: https://example.org/a. Questions? (https://example.org/b)");
  assert.deepEqual(pieces, [
    { text: "Agenda: " },
    { text: "https://example.org/a", href: "https://example.org/a" },
    { text: ". Questions? (" },
    { text: "https://example.org/b", href: "https://example.org/b" },
    { text: ")" },
  ]);
  assert.equal(pieces.map((p) => p.text).join(""), "Agenda: https://example.org/a. Questions? (https://example.org/b)");
});

test("markup stays text", () => {
  const t = '<img src=x onerror="alert(1)"> <b>bold</b>';
  assert.deepEqual(linkify(t), [{ text: t }]);
});

// The canonical example of every signalling message, shared with the Go
// side (internal/wire/testdata: one JSON file per message type, by
// direction). run.mjs names the folder in KAIGI_WIRE_FIXTURES, since the
// tests run from a bundle elsewhere; without it, it is looked for from the
// working directory (web/ or the repository).

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

export type Direction = "server-to-client" | "client-to-server";

export interface Fixture {
  /** The file's text, as a frame would carry it. */
  text: string;
  value: Record<string, unknown>;
}

function folder(): string {
  const named = process.env.KAIGI_WIRE_FIXTURES;
  if (named) return named;
  for (const base of ["../internal/wire/testdata", "internal/wire/testdata"]) {
    const dir = resolve(process.cwd(), base);
    if (existsSync(dir)) return dir;
  }
  throw new Error("internal/wire/testdata not found: run the tests with test/run.mjs");
}

/** Every fixture of one direction, by message type (the file's name). */
export function wireFixtures(direction: Direction): Map<string, Fixture> {
  const dir = join(folder(), direction);
  const out = new Map<string, Fixture>();
  for (const f of readdirSync(dir).filter((n) => n.endsWith(".json")).sort()) {
    const text = readFileSync(join(dir, f), "utf8");
    out.set(f.slice(0, -".json".length), { text, value: JSON.parse(text) as Record<string, unknown> });
  }
  if (out.size === 0) throw new Error(`no fixtures in ${dir}`);
  return out;
}

import { readFileSync } from "node:fs";
import path from "node:path";

// The fixtures live beside this code (copied from the team's shared collection of recorded provider
// responses) so the repository stays self-contained; SOURCES.md in that folder records where each file came from.
const fixturesDirectory = path.join(__dirname, "fixtures");

const cache = new Map<string, string>();

/** Reads a fixture file (path relative to `fixtures/`), cached for the life of the process. */
export function readFixtureText(relativePath: string): string {
  let text = cache.get(relativePath);
  if (text === undefined) {
    text = readFileSync(path.join(fixturesDirectory, relativePath), "utf8");
    cache.set(relativePath, text);
  }
  return text;
}

/** The non-empty lines of a line-per-payload fixture (vercel `*.chunks.txt`, NDJSON). */
export function readFixtureLines(relativePath: string): string[] {
  return readFixtureText(relativePath)
    .split("\n")
    .filter((line) => line.trim() !== "");
}

export function readFixtureJson(relativePath: string): unknown {
  return JSON.parse(readFixtureText(relativePath));
}

import * as fs from "node:fs";
import * as path from "node:path";

/** Lines 3–5 are the function the tests select and send to the model. */
export const GREETING_SOURCE = [
  "// A tiny module to select code from.",
  "",
  "export function greet(name: string): string {",
  "  return `Hello, ${name}!`;",
  "}",
  "",
  "export const answer = 42;",
  "",
].join("\n");

/** A workspace folder with `src/greeting.ts`; returns the folder. */
export function writeSampleWorkspace(folder: string): string {
  fs.mkdirSync(path.join(folder, "src"), { recursive: true });
  fs.writeFileSync(path.join(folder, "src", "greeting.ts"), GREETING_SOURCE);
  return folder;
}

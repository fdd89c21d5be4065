import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { formatLongConversationBench, runLongConversationBench } from "./long-conversation-bench";
import { formatMultiInstanceBench, runMultiInstanceBench } from "./multi-instance-bench";
import { formatServerBench, runServerBench } from "./server-bench";

/** `npm run bench`: measures, writes bench/results/latest.md. Not a test: nothing here passes or fails on a number. */
async function main(): Promise<void> {
  const log = (line: string) => process.stderr.write(`bench: ${line}\n`);
  const file = path.join(__dirname, "results", "latest.md");
  // `npm run bench -- server` (or `instances`, `long`, `extension`) measures one part and keeps the others' last figures.
  const only = process.argv[2];
  const previous = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
  const keptSection = (heading: string) => {
    const start = previous.indexOf(`\n## ${heading}`);
    if (start === -1) return [];
    const end = previous.indexOf("\n## ", start + 1);
    return [`${previous.slice(start, end === -1 ? undefined : end).trimEnd()}\n\n(kept from the previous run)`];
  };
  const sections: string[] = [];
  if (!only || only === "server") sections.push(formatServerBench(await runServerBench(log)));
  else sections.push(...keptSection("Team server"));
  if (!only || only === "instances") sections.push(formatMultiInstanceBench(await runMultiInstanceBench(log)));
  else sections.push(...keptSection("Several instances on one PostgreSQL"));
  if (!only || only === "long") sections.push(formatLongConversationBench(await runLongConversationBench(log)));
  else sections.push(...keptSection("Long conversations"));
  if (!only || only === "extension") {
    const { formatExtensionBench, runExtensionBench } = await import("./extension-bench");
    sections.push(formatExtensionBench(await runExtensionBench(log)));
  } else sections.push(...keptSection("Extension"));
  const header = [
    "# Benchmark results",
    "",
    `Measured ${new Date().toISOString()} on ${os.cpus().length} × ${os.cpus()[0]?.model ?? "CPU"}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}.`,
    "Produced by `npm run bench`. Figures vary between runs, by tens of percent on a busy machine: compare runs made back to back.",
    "",
  ];
  const output = [...header, ...sections].join("\n") + "\n";
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, output);
  process.stdout.write(output);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { formatGatewayBench, runGatewayBench } from "./gateway-bench";
import { formatLibraryBench, runLibraryBench } from "./library-bench";
import { formatLongConversationBench, runLongConversationBench } from "./long-conversation-bench";
import { formatMultiInstanceBench, runMultiInstanceBench } from "./multi-instance-bench";
import { formatServerBench, runServerBench } from "./server-bench";
import { formatUsageBench, runUsageBench } from "./usage-bench";

/** Follows a section carried over unchanged from the last run (its figures are that run's). */
const KEPT_MARKER = "(kept from the previous run)";

/** `npm run bench`: measures, writes bench/results/latest.md. Not a test: nothing here passes or fails on a number. */
async function main(): Promise<void> {
  const log = (line: string) => process.stderr.write(`bench: ${line}\n`);
  const file = path.join(__dirname, "results", "latest.md");
  // `npm run bench -- server` (or `instances`, `long`, `gateway`, `usage`, `webview`, `extension`, `library`) measures one part and keeps the others' last figures.
  const only = process.argv[2];
  const previous = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
  // The last run's sections by heading, without the marker an earlier keep added (one marker, never a pile).
  const previousSections = new Map<string, string>();
  for (const chunk of previous.split(/\n(?=## )/)) {
    if (!chunk.startsWith("## ")) continue;
    const heading = chunk.slice(3, chunk.indexOf("\n") === -1 ? undefined : chunk.indexOf("\n")).trim();
    const body = chunk
      .split("\n")
      .filter((line) => line.trim() !== KEPT_MARKER)
      .join("\n")
      .trimEnd();
    previousSections.set(heading, body);
  }
  const keptSection = (heading: string) => {
    // a heading may carry more words than its name ("## Extension (in code-server …)")
    const found = [...previousSections].find(
      ([title]) => title === heading || (/^[ :(]/.test(title.slice(heading.length)) && title.startsWith(heading)),
    );
    return found === undefined ? [] : [`${found[1]}\n\n${KEPT_MARKER}`];
  };
  const sections: string[] = [];
  if (!only || only === "server") sections.push(formatServerBench(await runServerBench(log)));
  else sections.push(...keptSection("Team server"));
  if (!only || only === "instances") sections.push(formatMultiInstanceBench(await runMultiInstanceBench(log)));
  else sections.push(...keptSection("Several instances on one PostgreSQL"));
  if (!only || only === "long") sections.push(formatLongConversationBench(await runLongConversationBench(log)));
  else sections.push(...keptSection("Long conversations"));
  if (!only || only === "gateway") sections.push(formatGatewayBench(await runGatewayBench(log)));
  else sections.push(...keptSection("Gateway"));
  if (!only || only === "usage") sections.push(formatUsageBench(await runUsageBench(log)));
  else sections.push(...keptSection("Usage queries"));
  if (!only || only === "webview") {
    const { formatWebviewBench, runWebviewBench } = await import("./webview-bench");
    sections.push(formatWebviewBench(await runWebviewBench(log)));
  } else sections.push(...keptSection("Chat webview"));
  if (!only || only === "extension") {
    const { formatExtensionBench, runExtensionBench } = await import("./extension-bench");
    sections.push(formatExtensionBench(await runExtensionBench(log)));
  } else sections.push(...keptSection("Extension"));
  if (!only || only === "library") sections.push(formatLibraryBench(await runLibraryBench(log)));
  else sections.push(...keptSection("Library"));
  const header = [
    "# Benchmark results",
    "",
    `Measured ${new Date().toISOString()} on ${os.cpus().length} × ${os.cpus()[0]?.model ?? "CPU"}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}.`,
    "Produced by `npm run bench`. Figures vary between runs, by tens of percent on a busy machine: compare runs made back to back.",
    "",
  ];
  const output = `${header.join("\n")}\n${sections.map((section) => section.trim()).join("\n\n")}\n`;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, output);
  process.stdout.write(output);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});

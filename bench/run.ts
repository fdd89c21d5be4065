import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { formatServerBench, runServerBench } from "./server-bench";

/** `npm run bench`: measures, writes bench/results/latest.md. Not a test: nothing here passes or fails on a number. */
async function main(): Promise<void> {
  const log = (line: string) => process.stderr.write(`bench: ${line}\n`);
  const sections: string[] = [];
  const only = process.argv[2];
  if (!only || only === "server") sections.push(formatServerBench(await runServerBench(log)));
  if (!only || only === "extension") {
    const { formatExtensionBench, runExtensionBench } = await import("./extension-bench");
    sections.push(formatExtensionBench(await runExtensionBench(log)));
  }
  const header = [
    "# Benchmark results",
    "",
    `Measured ${new Date().toISOString()} on ${os.cpus().length} × ${os.cpus()[0]?.model ?? "CPU"}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}.`,
    "Produced by `npm run bench`. Figures vary between runs, by tens of percent on a busy machine: compare runs made back to back.",
    "",
  ];
  const output = [...header, ...sections].join("\n") + "\n";
  const file = path.join(__dirname, "results", "latest.md");
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, output);
  process.stdout.write(output);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});

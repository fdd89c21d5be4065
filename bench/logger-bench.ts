import path from "node:path";
import { pathToFileURL } from "node:url";
import type { createLogger as CreateLogger } from "../server/src/logger";

/**
 * Cost of one log call of the team server's logger, per kind of line it writes (not a test: no
 * number passes or fails). Two sinks: a function that only counts bytes (what the test harness
 * does, so this is the logger's own CPU work), and the default one, standard output — run with
 * stdout sent to /dev/null so the terminal is not measured:
 *
 *   npx tsx bench/logger-bench.ts > /dev/null                     the logger in server/src/logger.ts
 *   npx tsx bench/logger-bench.ts /path/to/other-logger.ts > /dev/null   another createLogger(level, sink?)
 *
 * Results go to standard error as a Markdown table: per call, the median of 7 rounds of wall time
 * and of CPU time (every thread of the process, so a write handed to another thread still counts;
 * on a machine shared with other work, CPU time is the steadier of the two).
 */
const callsPerRound = 100_000;
const rounds = 7;

async function main(): Promise<void> {
  const modulePath = path.resolve(process.argv[2] ?? path.join(__dirname, "../server/src/logger.ts"));
  const { createLogger } = (await import(pathToFileURL(modulePath).href)) as { createLogger: typeof CreateLogger };

  let bytes = 0;
  const countingSink = (line: string) => {
    bytes += line.length;
  };
  const sinks = { function: () => createLogger("info", countingSink), stdout: () => createLogger("info") };
  const providerError = new Error("The Anthropic request failed: socket hang up");

  const rows: string[] = [];
  for (const [sinkName, makeLogger] of Object.entries(sinks)) {
    const logger = makeLogger();
    const generation = logger.child({ service: "generation" });
    const cases: Record<string, (index: number) => void> = {
      // the line every answer ends with (generation-job.ts)
      "info, 7 fields": (index) =>
        logger.info("answer finished", {
          messageId: "0b6f3c1e-8d0e-4c55-9a57-3f0c3d1e2a4b",
          provider: "anthropic",
          modelId: "anthropic:claude-sonnet-4-5",
          status: "complete",
          errorCode: undefined,
          timeToFirstTokenMs: 412 + (index % 7),
          durationMs: 5310,
        }),
      "info, child logger, 3 fields": (index) =>
        generation.info("retrying provider request", { messageId: "0b6f3c1e", code: "provider_rate_limited", attempt: index % 3 }),
      "warn, fields to redact": () =>
        logger.warn("provider preset applied", {
          provider: "groq",
          apiKey: "gsk_0123456789abcdef0123456789abcdef",
          request: { headers: { authorization: "Bearer gsk_0123456789abcdef" } },
        }),
      "error, with an Error": () => logger.error("request failed", { method: "POST", path: "/api/v1/conversations", error: providerError }),
      "debug below the level (dropped)": () => logger.debug("not written", { messageId: "0b6f3c1e" }),
    };
    for (const [caseName, call] of Object.entries(cases)) {
      for (let index = 0; index < callsPerRound / 10; index += 1) call(index); // warm-up
      const wallNs: number[] = [];
      const cpuNs: number[] = [];
      for (let round = 0; round < rounds; round += 1) {
        const started = process.hrtime.bigint();
        const cpuStarted = process.cpuUsage();
        for (let index = 0; index < callsPerRound; index += 1) call(index);
        const cpu = process.cpuUsage(cpuStarted);
        wallNs.push(Number(process.hrtime.bigint() - started) / callsPerRound);
        cpuNs.push(((cpu.user + cpu.system) * 1000) / callsPerRound);
      }
      rows.push(`| ${sinkName} | ${caseName} | ${median(wallNs).toFixed(0)} | ${median(cpuNs).toFixed(0)} |`);
    }
  }
  process.stderr.write(
    [
      `Logger: ${path.relative(process.cwd(), modulePath)} · Node ${process.version} · ${callsPerRound} calls × ${rounds} rounds`,
      "",
      "| sink | line | wall ns per call | CPU ns per call |",
      "| --- | --- | ---: | ---: |",
      ...rows,
      "",
      `(${bytes} bytes to the counting sink)`,
      "",
    ].join("\n"),
  );
}

function median(values: number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  return sorted[Math.floor(sorted.length / 2)]!;
}

main().catch((error: unknown) => {
  process.stderr.write(`logger bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});

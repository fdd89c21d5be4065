import { ConfigError, loadConfig } from "./config";

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\nSee README.md ("Configuration") for every variable.\n`);
      process.exit(1);
    }
    throw error;
  }
  // loaded after the configuration is known good, so a bad variable is reported at once
  const { startTeamServer } = await import("./team-server");
  const server = await startTeamServer(config);
  const storage = config.databaseUrl ? "PostgreSQL" : `SQLite in ${config.dataDirectory}`;
  process.stdout.write(`Juggler team server listening on ${server.url} (${storage})\n`);
  if (server.adminToken !== undefined) {
    // Printed for the operator, never a log record: it makes whoever holds it the team's admin, until the first admin exists.
    process.stdout.write(
      "\nThe team has no admin yet. Create the first admin account with this one-time admin token\n" +
        "(in VS Code: Juggler: Sign In → Set up the first admin). A new token is printed on every start until then.\n\n" +
        `    ${server.adminToken}\n\n`,
    );
  }

  let isStopping = false;
  const stop = (signal: string) => {
    if (isStopping) return;
    isStopping = true;
    server.logger.info("stopping", { signal });
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        server.logger.error("stop failed", { error });
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

main().catch((error: unknown) => {
  process.stderr.write(`Juggler team server failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadConfig, type Config, type Environment } from "../../server/src/config";
import { createLogger } from "../../server/src/logger";
import { startTeamServer, type TeamServer } from "../../server/src/team-server";
import { createApiClient, type ApiClient, type ApiRequest, type ApiResponse } from "./api-client";

export interface TestServer extends TeamServer {
  dataDirectory: string;
  /** Every log line the server wrote (nothing reaches the console). */
  logLines: string[];
  /** The configuration the server was started with. */
  config: Config;
  /** JSON request under /api/v1; never throws on an error status. */
  request: ApiRequest;
  /** close() and remove the data folder. */
  dispose(): Promise<void>;
}

export type TestResponse = ApiResponse;

export interface TestServerOptions {
  environment?: Environment;
  /** Reuse a data folder (to restart "the same" server). */
  dataDirectory?: string;
  now?: () => number;
}

/**
 * The real team server on an ephemeral port with a real SQLite file in a temp folder
 * (or PostgreSQL when environment.DATABASE_URL is given).
 */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dataDirectory = options.dataDirectory ?? fs.mkdtempSync(path.join(os.tmpdir(), "juggler-test-"));
  const config = loadConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    DATA_DIR: dataDirectory,
    LOG_LEVEL: "debug",
    CATALOG_REFRESH_MINUTES: "0",
    PROVIDER_RETRY_MAX_DELAY_MS: "2000",
    ...options.environment,
  });
  const logLines: string[] = [];
  const logger = createLogger(config.logLevel, (line) => logLines.push(line));
  const server = await startTeamServer(config, { logger, now: options.now });
  const { request } = createApiClient(server.url);
  return {
    ...server,
    config,
    dataDirectory,
    logLines,
    request,
    dispose: async () => {
      await server.close();
      if (!options.dataDirectory) fs.rmSync(dataDirectory, { recursive: true, force: true });
    },
  };
}

/**
 * Registers (on a fresh server whose registration is open, the first account becomes admin) and
 * signs in; returns the session body. `adminToken`: register the first admin with the server's
 * one-time token (what a server with approval or closed registration needs).
 */
export async function registerUser(
  server: ApiClient,
  name: string,
  password = "correct horse battery",
  options: { adminToken?: string } = {},
): Promise<{ accessToken: string; refreshToken: string; user: { id: string; role: string } }> {
  const response = await server.request("POST", "/auth/register", { body: { name, password, adminToken: options.adminToken } });
  if (response.status !== 202) throw new Error(`register ${name} failed: ${response.status} ${JSON.stringify(response.body)}`);
  // the answer is the same whether the account was made: signing in tells
  const session = await server.request("POST", "/auth/sign-in", { body: { name, password } });
  if (session.status !== 200) throw new Error(`register ${name}: signing in failed: ${session.status} ${JSON.stringify(session.body)}`);
  return session.body;
}

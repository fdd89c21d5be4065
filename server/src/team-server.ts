import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import type Koa from "koa";
import { createApp } from "./app";
import type { Config } from "./config";
import { createLogger, type Logger } from "./logger";
import { preparePrivateDirectory } from "./private-files";
import { loadSecretKey } from "./secrets";
import { SingleInstance } from "./services/cluster";
import { PostgresCluster } from "./services/postgres-cluster";
import { createServices, startServices, stopServices, type Services } from "./services/services";
import { openDatabase, type Database } from "./storage/database";

export interface TeamServer {
  /** http://host:port, with `localhost` when bound to every interface. */
  url: string;
  port: number;
  app: Koa;
  database: Database;
  services: Services;
  logger: Logger;
  /** The one-time admin token, when the team has no admin yet: for the operator's console only. */
  adminToken: string | undefined;
  /** Ends open streams with a final event, stops accepting, closes the database. Safe to call twice. */
  close(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  now?: () => number;
}

export async function startTeamServer(config: Config, options: StartOptions = {}): Promise<TeamServer> {
  const logger = options.logger ?? createLogger(config.logLevel);
  if (preparePrivateDirectory(config.dataDirectory)) {
    logger.warn("the data folder was readable by others; it is now the server's user's only (0700)", {
      dataDirectory: config.dataDirectory,
    });
  }
  const secretKey = loadSecretKey(config.secretKey, config.dataDirectory);
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    sqliteFile: path.join(config.dataDirectory, "juggler.sqlite"),
  });
  const now = options.now ?? Date.now;
  // several instances may share a PostgreSQL database; a SQLite file has exactly one
  const cluster = config.databaseUrl
    ? new PostgresCluster(database, config.databaseUrl, logger.child({ service: "cluster" }))
    : new SingleInstance();
  const services = createServices({ config, database, logger, secretKey, now, cluster });
  let adminToken: string | undefined;
  try {
    ({ adminToken } = await startServices(services, cluster));
  } catch (error) {
    await cluster.stop().catch(() => undefined);
    await database.destroy();
    throw error;
  }
  const app = createApp({ config, logger, services, now });
  // Node's timeouts bound how long a client may take to SEND its request, not how long the response
  // may last: a slow or never-finished body is cut (408), while an answer streams for as long as it
  // takes. The sockets are checked often enough for the limits to mean what they say.
  const server = http.createServer(
    {
      requestTimeout: config.requestTimeoutMs,
      headersTimeout: config.headersTimeoutMs,
      connectionsCheckingInterval: Math.min(5_000, Math.ceil(config.headersTimeoutMs / 2)),
    },
    app.callback(),
  );
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // An open SSE response would keep server.close() waiting forever: end every stream first
      // (each gets a final event), then drop idle keep-alive sockets.
      await stopServices(services, cluster);
      server.closeIdleConnections();
      const forced = setTimeout(() => server.closeAllConnections(), 2_000);
      await closed;
      clearTimeout(forced);
      // gateway answers cut by the close above are recorded too
      await services.ledger.flush();
      await database.destroy();
    })();
    return closing;
  };

  return { url, port, app, database, services, logger, adminToken, close };
}

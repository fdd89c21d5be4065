import type { Config } from "../config";
import type { Logger } from "../logger";
import type { Database } from "../storage/database";
import type { Cluster } from "./cluster";

/** What every service is built from. `now` is injectable so token expiry can be tested without waiting. */
export interface ServiceContext {
  config: Config;
  database: Database;
  logger: Logger;
  /** The server's SECRET_KEY (from the environment or the data folder); derive purpose keys with deriveKey(). */
  secretKey: string;
  now: () => number;
  /** The other server instances on the same database (none on SQLite): shared answers, stops, cache invalidations. */
  cluster: Cluster;
}

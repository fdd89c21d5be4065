import type { Knex } from "knex";
import type { Logger } from "../logger";

/** New events of answers: the payload is answer ids, comma-separated (the events are in `generation_events`). */
export const ANSWER_EVENTS_CHANNEL = "juggler_answer_events";
/** Everything else instances tell each other (stop an answer, forget a cached thing): a small JSON object. */
export const CONTROL_CHANNEL = "juggler_control";

/** PostgreSQL refuses a payload of 8000 bytes or more; ids are ASCII, so characters are bytes. */
const MAXIMUM_PAYLOAD_LENGTH = 7900;

/** Ids joined by commas into as few payloads as fit under PostgreSQL's limit. */
export function notificationPayloads(ids: readonly string[]): string[] {
  const payloads: string[] = [];
  let current = "";
  for (const id of ids) {
    if (current.length > 0 && current.length + 1 + id.length > MAXIMUM_PAYLOAD_LENGTH) {
      payloads.push(current);
      current = "";
    }
    current = current.length === 0 ? id : `${current},${id}`;
  }
  if (current.length > 0) payloads.push(current);
  return payloads;
}

/** Sends one notification through the pool (delivered when the statement commits). */
export async function notify(database: Knex, channel: string, payload: string): Promise<void> {
  if (payload.length > MAXIMUM_PAYLOAD_LENGTH) throw new Error(`notification payload too long (${payload.length} characters)`);
  await database.raw("SELECT pg_notify(?, ?)", [channel, payload]);
}

export interface NotificationHandlers {
  onNotification(channel: string, payload: string): void;
  /**
   * The connection was (re)established and LISTENs are in place. Notifications sent while it was
   * down are lost (PostgreSQL keeps none for an absent listener): the caller catches up from tables.
   */
  onListening(isReconnect: boolean): void;
}

interface ListeningClient {
  connect(): Promise<unknown>;
  query(sql: string): Promise<unknown>;
  end(): Promise<void>;
  on(event: "notification", listener: (message: { channel: string; payload?: string }) => void): unknown;
  on(event: "error", listener: (error: Error) => void): unknown;
  on(event: "end", listener: () => void): unknown;
  removeAllListeners(): unknown;
  /** pg's socket: destroyed when the connection is given up, since a silent server never closes it. */
  connection?: { stream?: { destroy(): void } };
}

/** The listening connection's `application_name`. */
export const NOTIFICATION_CONNECTION_NAME = "juggler-notifications";

const FIRST_RETRY_DELAY_MS = 100;
const LONGEST_RETRY_DELAY_MS = 5_000;
/**
 * A listening connection only receives, so a connection that died without a word (a NAT or load
 * balancer dropping it, a frozen server) is never noticed by writing to it. Every so often a query
 * on it must answer within the timeout, or it is given up and replaced.
 */
const LIVENESS_CHECK_INTERVAL_MS = 2_000;
const LIVENESS_TIMEOUT_MS = 4_000;

/**
 * LISTEN on one dedicated connection (LISTEN belongs to a session; a pooled connection would be
 * handed to other queries and lose it). Reconnects with a growing delay when the connection fails
 * and tells the owner, which then catches up from the tables.
 */
export class PostgresNotificationListener {
  private client: ListeningClient | undefined;
  private isStopped = false;
  private hasListened = false;
  private retryDelayMs = FIRST_RETRY_DELAY_MS;
  private retryTimer: NodeJS.Timeout | undefined;
  private livenessTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly connectionString: string,
    private readonly channels: readonly string[],
    private readonly handlers: NotificationHandlers,
    private readonly logger: Logger,
  ) {}

  /** Resolves once listening (the first connection must work: a server that cannot listen must not start). */
  async start(): Promise<void> {
    await this.connect();
  }

  async stop(): Promise<void> {
    this.isStopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.livenessTimer);
    const client = this.client;
    this.client = undefined;
    if (client) {
      client.removeAllListeners();
      // a failing end is nothing to act on: the connection is being dropped anyway
      client.on("error", () => undefined);
      await client.end().catch(() => undefined);
    }
  }

  private async connect(): Promise<void> {
    const { default: pg } = await import("pg");
    // named, so an operator (and the tests) can tell it in pg_stat_activity
    const client = new pg.Client({
      connectionString: this.connectionString,
      application_name: NOTIFICATION_CONNECTION_NAME,
    }) as unknown as ListeningClient;
    let isLost = false;
    const lose = (error: Error | undefined) => {
      if (isLost) return;
      isLost = true;
      if (this.client === client) {
        this.client = undefined;
        clearInterval(this.livenessTimer);
      }
      client.removeAllListeners();
      client.on("error", () => undefined);
      void client.end().catch(() => undefined);
      // end() waits for the server to close, which a dead or frozen one never does
      client.connection?.stream?.destroy();
      // the first connection's failure goes to start()'s caller instead
      if (this.isStopped || !this.hasListened) return;
      this.logger.warn("the PostgreSQL notification connection was lost; reconnecting", { error });
      this.scheduleReconnect();
    };
    client.on("error", (error) => lose(error));
    client.on("end", () => lose(undefined));
    client.on("notification", (message) => {
      try {
        this.handlers.onNotification(message.channel, message.payload ?? "");
      } catch (error) {
        this.logger.error("a notification handler failed", { channel: message.channel, error });
      }
    });
    try {
      await client.connect();
      for (const channel of this.channels) await client.query(`LISTEN ${channel}`);
    } catch (error) {
      lose(error as Error);
      if (!this.hasListened) throw error;
      return;
    }
    if (this.isStopped) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.checkLiveness(client, lose);
    this.retryDelayMs = FIRST_RETRY_DELAY_MS;
    const isReconnect = this.hasListened;
    this.hasListened = true;
    this.handlers.onListening(isReconnect);
  }

  private checkLiveness(client: ListeningClient, lose: (error: Error) => void): void {
    clearInterval(this.livenessTimer);
    let isChecking = false;
    this.livenessTimer = setInterval(() => {
      if (isChecking) return;
      isChecking = true;
      let timeout: NodeJS.Timeout | undefined;
      const unanswered = new Promise<never>((_resolve, reject) => {
        timeout = setTimeout(
          () => reject(new Error(`the listening connection did not answer within ${LIVENESS_TIMEOUT_MS} ms`)),
          LIVENESS_TIMEOUT_MS,
        );
      });
      Promise.race([client.query("SELECT 1"), unanswered])
        .catch((error: unknown) => lose(error instanceof Error ? error : new Error(String(error))))
        .finally(() => {
          clearTimeout(timeout);
          isChecking = false;
        });
    }, LIVENESS_CHECK_INTERVAL_MS);
    this.livenessTimer.unref();
  }

  private scheduleReconnect(): void {
    clearTimeout(this.retryTimer);
    const delay = this.retryDelayMs;
    this.retryDelayMs = Math.min(this.retryDelayMs * 2, LONGEST_RETRY_DELAY_MS);
    this.retryTimer = setTimeout(() => {
      void this.connect().catch((error: unknown) => {
        this.logger.warn("reconnecting for notifications failed; trying again", { error });
        this.scheduleReconnect();
      });
    }, delay);
    this.retryTimer.unref();
  }
}

import type { GenerationEvent } from "../../../protocol/http/generation-events";
import type { GenerationEventListener, JobSubscription } from "./generation-job";

/**
 * What one instance tells the others changed, so that they drop what they keep in memory. Sent
 * after the change committed; ids only, never data.
 */
export type ClusterChange =
  /** An account row changed (status, role, password, sessions ended): forget its cached row and sessions. */
  | { kind: "user"; userId: string }
  /** One session ended (signed out, a refresh family revoked). */
  | { kind: "session"; familyId: string }
  /** An admin changed an account's status: its answers being written here stop when it is no longer active. */
  | { kind: "account-status"; userId: string; status: "active" | "pending" | "disabled" }
  | { kind: "team-settings" }
  | { kind: "catalog" }
  /** `keepAdapters`: only refresh outcomes changed, not a key or address (the SDK clients stay). */
  | { kind: "providers"; keepAdapters: boolean }
  | { kind: "fallbacks" }
  /** Notifications may have been missed (the listening connection was down): forget everything cached. */
  | { kind: "everything" };

/** An answer being written by this instance, as the cluster sees it. */
export interface OwnedAnswer {
  readonly messageId: string;
  subscribe(afterSequence: number, listener: GenerationEventListener): JobSubscription;
}

/**
 * Reads the stored answer when a followed answer has gone quiet: a terminal event describing it
 * once it is no longer `streaming` (its events were pruned, or its writer died before publishing
 * the end), undefined while it still is.
 */
export type QuietCheck = (nextSequence: number) => Promise<GenerationEvent | undefined>;

/**
 * The server instances sharing one database, as the services need them: on SQLite there is one
 * (`SingleInstance`: nothing to share, nothing costs anything); on PostgreSQL several may run
 * behind a load balancer (`PostgresCluster`: events in a table, LISTEN/NOTIFY, leases).
 */
export interface Cluster {
  /** false: this process is the only instance, everything lives in its memory. */
  readonly isShared: boolean;
  start(): Promise<void>;
  /** After the jobs ended: their last events are written, then this instance leaves. */
  stop(): Promise<void>;

  /** Tells the other instances (never this one) about a change. Never throws; a failure is logged. */
  announce(change: ClusterChange): void;
  /** A change another instance announced. */
  onChange(listener: (change: ClusterChange) => void): void;

  /** An answer this instance starts writing: other instances can follow it, and take over its end if this one dies. */
  ownAnswer(answer: OwnedAnswer): void;
  /**
   * Follows an answer written by another instance: its events after `afterSequence`, then the
   * live ones, until the terminal event. Returns the unsubscribe.
   */
  followAnswer(messageId: string, afterSequence: number, listener: GenerationEventListener, quietCheck: QuietCheck): () => void;
  /** The stored events of an answer after `afterSequence` (kept a minute after it ended); none on a single instance. */
  storedEvents(messageId: string, afterSequence: number): Promise<GenerationEvent[]>;
  /** Asks the instance writing `messageId` to stop it. */
  requestStop(messageId: string): void;
  /** Another instance asked to stop an answer (it may be this instance's or nobody's). */
  onStopRequested(listener: (messageId: string) => void): void;

  /** Interrupts now the answers whose instance stopped (the cluster also does it every few seconds). */
  recoverOrphanedAnswers(): Promise<void>;

  /** true for one instance per `intervalMs` (a team-wide periodic task: that one does it). */
  claimTask(name: string, intervalMs: number): Promise<boolean>;
}

/** The only instance (SQLite): every method is free. */
export class SingleInstance implements Cluster {
  readonly isShared = false;
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  announce(): void {}
  onChange(): void {}
  ownAnswer(): void {}
  followAnswer(): () => void {
    throw new Error("a single instance has no other instance's answer to follow");
  }
  async storedEvents(): Promise<GenerationEvent[]> {
    return [];
  }
  requestStop(): void {}
  onStopRequested(): void {}
  async recoverOrphanedAnswers(): Promise<void> {}
  async claimTask(): Promise<boolean> {
    return true;
  }
}

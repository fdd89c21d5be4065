import crypto from "node:crypto";
import type { ErrorDetail } from "../../../protocol/http/error-codes";
import { isTerminalGenerationEvent, type GenerationEvent } from "../../../protocol/http/generation-events";
import type { Logger } from "../logger";
import { interruptOrphanedAnswer } from "../storage/conversation-repository";
import type { Database } from "../storage/database";
import { GenerationEventRepository, type AnswerEventWrite, type StoredGenerationEvent } from "../storage/generation-event-repository";
import { ANSWER_EVENTS_CHANNEL, CONTROL_CHANNEL, notify, PostgresNotificationListener } from "../storage/postgres-notifications";
import { ServerInstanceRepository } from "../storage/server-instance-repository";
import type { Cluster, ClusterChange, OwnedAnswer, QuietCheck } from "./cluster";
import type { GenerationEventListener } from "./generation-job";
import { estimateMessageTokens } from "./token-estimate";

export interface PostgresClusterTimings {
  /** How often this instance writes its heartbeat. */
  heartbeatIntervalMs: number;
  /** An instance silent this long is taken for dead: its answers are interrupted by another one. */
  staleAfterMs: number;
  /** How often this instance looks for answers whose writer is dead (and prunes ended answers' events). */
  sweepIntervalMs: number;
  /** A followed answer with no new event this long has its stored state checked (see QuietCheck). */
  quietAfterMs: number;
  /** Ended answers keep their events this long, for a client re-attaching just after the end. */
  retainEventsMs: number;
}

export const DEFAULT_CLUSTER_TIMINGS: PostgresClusterTimings = {
  heartbeatIntervalMs: 1_000,
  staleAfterMs: 5_000,
  sweepIntervalMs: 2_000,
  quietAfterMs: 3_000,
  retainEventsMs: 60_000,
};

/** An answer created this long ago without a lease lost its writer between the send's commit and the lease. */
const UNLEASED_AFTER_MS = 15_000;

const WRITER_GONE_ERROR: ErrorDetail = {
  code: "server_shutting_down",
  message: "The server writing this answer stopped; the partial answer was kept",
  retryable: true,
};

type ControlMessage = { origin: string; type: "stop"; messageId: string } | { origin: string; type: "change"; change: ClusterChange };

interface Follower {
  messageId: string;
  cursor: number;
  listener: GenerationEventListener;
  quietCheck: QuietCheck;
  lastEventAt: number;
  isPulling: boolean;
  isDirty: boolean;
  isEnded: boolean;
}

/**
 * Several server instances on one PostgreSQL behaving as one (docs/decisions "Several instances on
 * one PostgreSQL"):
 * - every event of an answer written here goes to its local subscribers at once (the job does
 *   that) and to `generation_event_batches`: one write at a time for every answer, whatever
 *   gathered while the previous one ran (a row per answer), with the leases that start or end and a
 *   NOTIFY of the answers' ids in the same statement (decision 0033);
 * - a stream opened on another instance replays the table after its Last-Event-ID, then pulls
 *   again on each notification naming its answer (and every sweep, in case one was missed);
 * - each answer has a lease naming its instance, and each instance a heartbeat; an answer whose
 *   instance went silent is interrupted by another instance with the text its writer had published;
 * - stops and cache invalidations travel as small NOTIFY messages on one control channel.
 */
export class PostgresCluster implements Cluster {
  readonly isShared = true;
  readonly instanceId = crypto.randomUUID();
  private readonly events: GenerationEventRepository;
  private readonly instances: ServerInstanceRepository;
  private readonly listener: PostgresNotificationListener;
  private readonly changeListeners: Array<(change: ClusterChange) => void> = [];
  private readonly stopListeners: Array<(messageId: string) => void> = [];
  private readonly followers = new Map<string, Set<Follower>>();
  private pending: StoredGenerationEvent[] = [];
  /** Answers whose lease the next write starts, and those whose lease it ends (with their last event). */
  private leasesToStart = new Set<string>();
  private leasesToEnd = new Set<string>();
  private writing: Promise<void> | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private isSweeping = false;
  private isStopped = false;

  constructor(
    private readonly database: Database,
    connectionString: string,
    private readonly logger: Logger,
    private readonly timings: PostgresClusterTimings = DEFAULT_CLUSTER_TIMINGS,
  ) {
    this.events = new GenerationEventRepository(database, this.instanceId);
    this.instances = new ServerInstanceRepository(database);
    this.listener = new PostgresNotificationListener(
      connectionString,
      [ANSWER_EVENTS_CHANNEL, CONTROL_CHANNEL],
      {
        onNotification: (channel, payload) => this.handleNotification(channel, payload),
        onListening: (isReconnect) => {
          if (!isReconnect) return;
          // whatever was announced meanwhile is lost: catch up from the tables
          for (const listener of this.changeListeners) listener({ kind: "everything" });
          for (const followers of this.followers.values()) for (const follower of followers) void this.pull(follower);
        },
      },
      logger,
    );
  }

  async start(): Promise<void> {
    await this.instances.register(this.instanceId);
    await this.listener.start();
    this.heartbeatTimer = setInterval(() => void this.beat(), this.timings.heartbeatIntervalMs);
    this.heartbeatTimer.unref();
    // answers a previous process left behind are found by the first sweep
    await this.sweep();
    this.scheduleSweep();
    this.logger.info("sharing the database with other instances", { instanceId: this.instanceId });
  }

  async stop(): Promise<void> {
    this.isStopped = true;
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.sweepTimer);
    await this.flushEvents();
    for (const followers of this.followers.values()) for (const follower of followers) follower.isEnded = true;
    this.followers.clear();
    await this.listener.stop();
    await this.instances.remove(this.instanceId).catch((error: unknown) => {
      this.logger.warn("removing this instance's row failed; it expires by itself", { error });
    });
  }

  // ---- changes and stops ----

  announce(change: ClusterChange): void {
    this.sendControl({ origin: this.instanceId, type: "change", change });
  }

  onChange(listener: (change: ClusterChange) => void): void {
    this.changeListeners.push(listener);
  }

  requestStop(messageId: string): void {
    this.sendControl({ origin: this.instanceId, type: "stop", messageId });
  }

  onStopRequested(listener: (messageId: string) => void): void {
    this.stopListeners.push(listener);
  }

  async recoverOrphanedAnswers(): Promise<void> {
    await this.sweep();
  }

  async claimTask(name: string, intervalMs: number): Promise<boolean> {
    return this.instances.claimTask(name, intervalMs);
  }

  // ---- answers written here ----

  ownAnswer(answer: OwnedAnswer): void {
    const messageId = answer.messageId;
    // the lease goes in the next write, with or without an event (a provider may be slow to answer)
    this.leasesToStart.add(messageId);
    void this.writeSoon();
    const subscription = answer.subscribe(0, (event) => {
      this.pending.push({ messageId, sequence: event.sequence, event: event.event, data: JSON.stringify(event.data) });
      if (isTerminalGenerationEvent(event.event)) {
        subscription.unsubscribe();
        this.leasesToEnd.add(messageId);
      }
      void this.writeSoon();
    });
  }

  private hasPendingWrites(): boolean {
    return this.pending.length > 0 || this.leasesToStart.size > 0 || this.leasesToEnd.size > 0;
  }

  /** Starts a write unless one runs (then what is pending joins the next); resolves once it is written. */
  private writeSoon(): Promise<void> {
    if (this.writing === undefined && this.hasPendingWrites()) this.writing = this.writeBatches();
    return this.writing ?? Promise.resolve();
  }

  private async writeBatches(): Promise<void> {
    // called with writes pending, so this awaits before its `finally`: `writing` is set by then
    try {
      while (this.hasPendingWrites()) {
        const write: AnswerEventWrite = {
          events: this.pending,
          leasesStarted: [...this.leasesToStart],
          leasesEnded: [...this.leasesToEnd],
        };
        this.pending = [];
        this.leasesToStart = new Set();
        this.leasesToEnd = new Set();
        try {
          await this.events.write(write);
        } catch (error) {
          // e.g. one answer's conversation was deleted meanwhile: the others' events still go in
          this.logger.warn("writing a batch of answer events failed; writing them per answer", { count: write.events.length, error });
          for (const [messageId, ofAnswer] of splitByAnswer(write)) {
            await this.events.write(ofAnswer).catch((failure: unknown) => {
              this.logger.warn("writing an answer's events failed", { messageId, error: failure });
            });
          }
        }
      }
    } finally {
      // in the same turn as the loop's last look at `pending`, so an event pushed after that starts
      // a new write; cleared a microtask later (a `.finally` on this promise), such an event joined a
      // write that had already ended and waited for the next event — a terminal one for seconds
      this.writing = undefined;
    }
  }

  private async flushEvents(): Promise<void> {
    while (this.writing !== undefined || this.hasPendingWrites()) await this.writeSoon();
  }

  // ---- answers written elsewhere ----

  followAnswer(messageId: string, afterSequence: number, listener: GenerationEventListener, quietCheck: QuietCheck): () => void {
    const follower: Follower = {
      messageId,
      cursor: afterSequence,
      listener,
      quietCheck,
      lastEventAt: performance.now(),
      isPulling: false,
      isDirty: false,
      isEnded: false,
    };
    let followers = this.followers.get(messageId);
    if (followers === undefined) {
      followers = new Set();
      this.followers.set(messageId, followers);
    }
    followers.add(follower);
    void this.pull(follower);
    return () => this.unfollow(follower);
  }

  storedEvents(messageId: string, afterSequence: number): Promise<GenerationEvent[]> {
    return this.events.listAfter(messageId, afterSequence);
  }

  private unfollow(follower: Follower): void {
    follower.isEnded = true;
    const followers = this.followers.get(follower.messageId);
    if (followers === undefined) return;
    followers.delete(follower);
    if (followers.size === 0) this.followers.delete(follower.messageId);
  }

  /** Reads the follower's new events (once at a time; a notification meanwhile reads again after). */
  private async pull(follower: Follower): Promise<void> {
    if (follower.isEnded) return;
    if (follower.isPulling) {
      follower.isDirty = true;
      return;
    }
    follower.isPulling = true;
    try {
      do {
        follower.isDirty = false;
        const events = await this.events.listAfter(follower.messageId, follower.cursor);
        for (const event of events) this.deliver(follower, event);
      } while (follower.isDirty && !follower.isEnded);
    } catch (error) {
      this.logger.warn("reading an answer's events failed; the next sweep reads again", { messageId: follower.messageId, error });
    } finally {
      follower.isPulling = false;
    }
  }

  private deliver(follower: Follower, event: GenerationEvent): void {
    if (follower.isEnded || event.sequence <= follower.cursor) return;
    follower.cursor = event.sequence;
    follower.lastEventAt = performance.now();
    if (isTerminalGenerationEvent(event.event)) this.unfollow(follower);
    try {
      follower.listener(event);
    } catch (error) {
      this.logger.warn("an answer follower failed", { messageId: follower.messageId, error });
    }
  }

  /** A follower that heard nothing for a while: read again, and if still nothing, ask whether the answer ended. */
  private async checkQuiet(follower: Follower): Promise<void> {
    if (follower.isPulling || performance.now() - follower.lastEventAt < this.timings.quietAfterMs) return;
    await this.pull(follower);
    if (follower.isEnded || performance.now() - follower.lastEventAt < this.timings.quietAfterMs) return;
    try {
      const terminal = await follower.quietCheck(follower.cursor + 1);
      if (terminal !== undefined) {
        // its events may have landed while the message was read: they come first
        await this.pull(follower);
        this.deliver(follower, { ...terminal, sequence: Math.max(terminal.sequence, follower.cursor + 1) } as GenerationEvent);
      }
    } catch (error) {
      this.logger.warn("checking a quiet answer failed", { messageId: follower.messageId, error });
    }
  }

  // ---- notifications ----

  private handleNotification(channel: string, payload: string): void {
    if (channel === ANSWER_EVENTS_CHANNEL) {
      for (const messageId of payload.split(",")) {
        const followers = this.followers.get(messageId);
        if (followers) for (const follower of followers) void this.pull(follower);
      }
      return;
    }
    let message: ControlMessage;
    try {
      message = JSON.parse(payload) as ControlMessage;
    } catch {
      this.logger.warn("an unreadable control notification was ignored", { payload: payload.slice(0, 200) });
      return;
    }
    if (message.origin === this.instanceId) return;
    if (message.type === "stop") for (const listener of this.stopListeners) listener(message.messageId);
    else for (const listener of this.changeListeners) listener(message.change);
  }

  private sendControl(message: ControlMessage): void {
    if (this.isStopped) return;
    void notify(this.database, CONTROL_CHANNEL, JSON.stringify(message)).catch((error: unknown) => {
      this.logger.error("telling the other instances failed", { type: message.type, error });
    });
  }

  // ---- liveness ----

  private async beat(): Promise<void> {
    try {
      if (!(await this.instances.beat(this.instanceId))) {
        // another instance took this one for dead (a long pause); its answers were interrupted there
        this.logger.warn("this instance was taken for dead by another one; registering again", { instanceId: this.instanceId });
        await this.instances.register(this.instanceId);
      }
    } catch (error) {
      this.logger.warn("the heartbeat failed", { error });
    }
  }

  private scheduleSweep(): void {
    if (this.isStopped) return;
    // jittered, so the instances do not all sweep at the same moment
    const delay = this.timings.sweepIntervalMs * (0.75 + Math.random() * 0.5);
    this.sweepTimer = setTimeout(() => {
      void this.sweep().finally(() => this.scheduleSweep());
    }, delay);
    this.sweepTimer.unref();
  }

  /** Interrupts answers whose writer is gone, prunes ended answers' events, and looks after quiet followers. */
  private async sweep(): Promise<void> {
    if (this.isSweeping) return;
    this.isSweeping = true;
    try {
      const orphans = await this.instances.findOrphanedAnswers(this.timings.staleAfterMs, UNLEASED_AFTER_MS);
      for (const orphan of orphans) await this.interrupt(orphan.messageId, orphan.content);
      await this.instances.removeStaleInstances(this.timings.staleAfterMs * 12);
      await this.instances.pruneFinished(this.timings.retainEventsMs);
    } catch (error) {
      this.logger.warn("looking for answers whose server stopped failed", { error });
    } finally {
      this.isSweeping = false;
    }
    const followers = [...this.followers.values()].flatMap((set) => [...set]);
    await Promise.all(followers.map((follower) => this.checkQuiet(follower)));
  }

  /**
   * Ends an answer whose writer died: `interrupted`, with the longer of its last flushed text and the
   * text its events carried, and a terminal event for whoever follows it. Only one instance
   * succeeds (the update is conditional on `streaming`).
   */
  private async interrupt(messageId: string, flushedContent: string): Promise<void> {
    const published = await this.events.summarise(messageId);
    const content = published.text.length >= flushedContent.length ? published.text : flushedContent;
    const message = await interruptOrphanedAnswer(this.database, messageId, {
      content,
      tokenEstimate: estimateMessageTokens(content),
      errorCode: WRITER_GONE_ERROR.code,
      errorMessage: WRITER_GONE_ERROR.message,
      now: Date.now(),
    });
    if (message === undefined) return;
    this.logger.warn("an answer whose server stopped was interrupted", { messageId, textLength: content.length });
    this.pending.push({
      messageId,
      sequence: published.lastSequence + 1,
      event: "generation-error",
      data: JSON.stringify({ error: WRITER_GONE_ERROR, message }),
    });
    // its lease (the gone writer's, or a new one naming this instance) ends with that event
    this.leasesToStart.add(messageId);
    this.leasesToEnd.add(messageId);
    await this.writeSoon();
  }
}

/** A failed write, as one write per answer (its events and its leases). */
function splitByAnswer(write: AnswerEventWrite): Map<string, AnswerEventWrite> {
  const writes = new Map<string, { events: StoredGenerationEvent[]; leasesStarted: string[]; leasesEnded: string[] }>();
  const of = (messageId: string) => {
    let found = writes.get(messageId);
    if (found === undefined) {
      found = { events: [], leasesStarted: [], leasesEnded: [] };
      writes.set(messageId, found);
    }
    return found;
  };
  for (const event of write.events) of(event.messageId).events.push(event);
  for (const messageId of write.leasesStarted) of(messageId).leasesStarted.push(messageId);
  for (const messageId of write.leasesEnded) of(messageId).leasesEnded.push(messageId);
  return writes;
}

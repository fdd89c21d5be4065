import type { ParameterizedContext } from "koa";
import { REPLY_EVENT, type GenerationEvent } from "../../../protocol/http/generation-events";
import { SseStream } from "./sse-stream";

/** One answer's events as the generation service hands them out (its GenerationStream). */
export interface AnswerEvents {
  attach(sink: { send(event: GenerationEvent): void; end(): void }): void;
  detach(): void;
}

/**
 * Whether a request that starts an answer asked for the answer's events rather than JSON: its
 * Accept header prefers `text/event-stream` to `application/json`. No Accept header, or `*\/*`,
 * is JSON, as it always was.
 */
function prefersEventStream(context: ParameterizedContext): boolean {
  return context.accepts("application/json", "text/event-stream") === "text/event-stream";
}

/**
 * Answers with one answer's server-sent events on the raw response: Koa must not write a body or
 * buffer anything, so `context.respond` becomes false. With `reply`, the first event is `reply`,
 * carrying what the JSON form of the request would have answered (no `id:`, so it never moves a
 * client's Last-Event-ID), and the response has that request's status; then the answer's events,
 * exactly as GET /messages/:id/stream gives them. Closing the connection only detaches.
 */
export function answerWithEventStream(
  context: ParameterizedContext,
  stream: AnswerEvents,
  reply?: { status: number; body: unknown },
): void {
  context.status = reply?.status ?? 200;
  context.respond = false;
  const sse = new SseStream(context.res);
  sse.onClose(() => stream.detach());
  sse.open(context.status);
  if (reply) sse.send({ event: REPLY_EVENT, data: reply.body });
  stream.attach({
    send: (event) => sse.send({ id: event.sequence, event: event.event, data: event.data }),
    end: () => sse.end(),
  });
}

/** What a request that may start answers replies: one answer, or the several of a compare. */
interface AnswerReply {
  assistantMessage?: { id: string };
  assistantMessages?: unknown[];
}

/** Where a user's answers are streamed from (the generation service). */
export interface AnswerStreams {
  openStream(userId: string, messageId: string, afterSequence: number): Promise<AnswerEvents>;
}

/**
 * The reply of a request that started answers: unchanged (JSON) unless the client asked for the
 * event stream and exactly one answer started, in which case that answer's events are sent after
 * the reply. The answer's job was started in this same turn, so its stream is in memory: nothing is
 * read from the database, and the provider's first token can follow the reply at once.
 */
export async function replyWithAnswerEvents<Reply extends AnswerReply>(
  context: ParameterizedContext,
  answers: AnswerStreams,
  userId: string,
  reply: Reply,
): Promise<Reply> {
  const answerId = reply.assistantMessage?.id;
  if (answerId === undefined || reply.assistantMessages !== undefined || !prefersEventStream(context)) return reply;
  answerWithEventStream(context, await answers.openStream(userId, answerId, 0), { status: context.status, body: reply });
  return reply;
}

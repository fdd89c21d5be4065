import type Router from "@koa/router";
import { endpoints, generationStreamPath, messageAttachmentPath } from "../../../protocol/http/endpoints";
import { AppError } from "../domain/app-error";
import { requireMember, type AuthenticatedState } from "../http/auth-middleware";
import type { Mount } from "../http/mount";
import { answerWithEventStream, replyWithAnswerEvents } from "../http/answer-event-stream";
import { parseLastEventId } from "../http/sse-stream";
import type { Services } from "../services/services";

/** One message: read it, show what its request carried, stream its generation (SSE), stop it, regenerate it, list its siblings, serve its attachments. */
export function messageRoutes(mount: Mount, router: Router, services: Services): void {
  mount(endpoints.getMessage, async ({ params, user }) => ({
    message: await services.generation.getMessage(user.id, params.messageId ?? ""),
  }));

  mount(endpoints.getAnswerContext, ({ request, params, user }) => services.answerContexts.get(user.id, params.messageId ?? "", request));

  mount(endpoints.stopGeneration, async ({ params, user }) => ({
    message: await services.generation.stop(user.id, params.messageId ?? ""),
  }));

  mount(endpoints.regenerate, async ({ request, params, user, context }) =>
    replyWithAnswerEvents(
      context,
      services.generation,
      user.id,
      await services.generation.regenerate(user.id, params.messageId ?? "", request),
    ),
  );

  mount(endpoints.listMessageSiblings, async ({ params, user }) => ({
    messages: await services.conversations.listSiblings(user.id, params.messageId ?? ""),
  }));

  // An attachment's content, not JSON: an image goes back as the bytes it was stored as.
  router.get<AuthenticatedState>(messageAttachmentPath, requireMember(services.accounts), async (context) => {
    const { mediaType, body } = await services.conversations.readAttachment(
      context.state.user.id,
      context.params.messageId!,
      context.params.attachmentId!,
    );
    context.status = 200;
    context.type = mediaType;
    // a stored attachment never changes; the browser must not guess another type from the bytes
    context.set("Cache-Control", "private, max-age=31536000, immutable");
    context.set("X-Content-Type-Options", "nosniff");
    context.set("Content-Disposition", "inline");
    context.body = body;
  });

  // Server-sent events, not JSON: the one route not described by an endpoint definition.
  router.get<AuthenticatedState>(generationStreamPath, requireMember(services.accounts), async (context) => {
    const header = context.get("last-event-id") || undefined;
    const query = typeof context.query.lastEventId === "string" ? context.query.lastEventId : undefined;
    const afterSequence = parseLastEventId(header ?? query) ?? 0;
    if (Number.isNaN(afterSequence)) {
      throw new AppError(400, "validation_failed", "Last-Event-ID must be the sequence number of an event");
    }
    // ownership and existence are checked here, before the SSE headers go out
    const stream = await services.generation.openStream(context.state.user.id, context.params.messageId!, afterSequence);
    answerWithEventStream(context, stream);
  });
}

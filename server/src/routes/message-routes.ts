import Router from "@koa/router";
import { endpoints, generationStreamPath } from "../../../protocol/http/endpoints";
import { AppError } from "../domain/app-error";
import { requireMember, type AuthenticatedState } from "../http/auth-middleware";
import { parseLastEventId, SseStream } from "../http/sse-stream";
import { validate } from "../http/validate";
import type { Services } from "../services/services";

/** One message: read it, show what its request carried, stream its generation (SSE), stop it, regenerate it. */
export function messageRoutes(services: Services): Router {
  const router = new Router();
  const member = requireMember(services.accounts);

  router.get<AuthenticatedState>(endpoints.getMessage.path, member, async (context) => {
    context.body = { message: await services.generation.getMessage(context.state.user.id, context.params.messageId!) };
  });

  router.get<AuthenticatedState>(endpoints.getAnswerContext.path, member, async (context) => {
    const query = validate(endpoints.getAnswerContext.request, context.query);
    context.body = await services.answerContexts.get(context.state.user.id, context.params.messageId!, query);
  });

  router.get<AuthenticatedState>(generationStreamPath, member, async (context) => {
    const header = context.get("last-event-id") || undefined;
    const query = typeof context.query.lastEventId === "string" ? context.query.lastEventId : undefined;
    const afterSequence = parseLastEventId(header ?? query) ?? 0;
    if (Number.isNaN(afterSequence)) {
      throw new AppError(400, "validation_failed", "Last-Event-ID must be the sequence number of an event");
    }
    // ownership and existence are checked here, before the SSE headers go out
    const stream = await services.generation.openStream(context.state.user.id, context.params.messageId!, afterSequence);

    // From here the raw response is ours: Koa must not write a body or buffer anything.
    context.status = 200;
    context.respond = false;
    const sse = new SseStream(context.res);
    sse.onClose(() => stream.detach());
    sse.open();
    stream.attach({
      send: (event) => sse.send({ id: event.sequence, event: event.event, data: event.data }),
      end: () => sse.end(),
    });
  });

  router.post<AuthenticatedState>(endpoints.stopGeneration.path, member, async (context) => {
    validate(endpoints.stopGeneration.request, emptyToUndefined(context.request.body));
    context.body = { message: await services.generation.stop(context.state.user.id, context.params.messageId!) };
  });

  router.post<AuthenticatedState>(endpoints.regenerate.path, member, async (context) => {
    const request = validate(endpoints.regenerate.request, context.request.body ?? {});
    context.status = 202;
    context.body = await services.generation.regenerate(context.state.user.id, context.params.messageId!, request);
  });

  return router;
}

/** The body parser gives `{}` for a request without a body; both mean "nothing". */
function emptyToUndefined(body: unknown): unknown {
  return body !== null && typeof body === "object" && Object.keys(body).length === 0 ? undefined : body;
}

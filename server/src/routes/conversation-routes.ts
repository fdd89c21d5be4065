import Router from "@koa/router";
import { endpoints } from "../../../protocol/http/endpoints";
import { requireMember, type AuthenticatedState } from "../http/auth-middleware";
import { validate } from "../http/validate";
import type { Services } from "../services/services";

/**
 * A member's conversations. Reads go to the conversation service; writes that involve a model or
 * a running answer (create with a model, switch model, delete, send) go to the generation service.
 */
export function conversationRoutes(services: Services): Router {
  const router = new Router();
  const member = requireMember(services.accounts);

  router.get<AuthenticatedState>(endpoints.listConversations.path, member, async (context) => {
    const query = validate(endpoints.listConversations.request, context.query);
    context.body = await services.conversations.list(context.state.user.id, query);
  });

  router.post<AuthenticatedState>(endpoints.createConversation.path, member, async (context) => {
    const request = validate(endpoints.createConversation.request, context.request.body ?? {});
    context.status = 201;
    context.body = { conversation: await services.generation.createConversation(context.state.user.id, request) };
  });

  router.get<AuthenticatedState>(endpoints.getConversation.path, member, async (context) => {
    const query = validate(endpoints.getConversation.request, context.query);
    context.body = await services.conversations.get(context.state.user.id, context.params.conversationId!, query.limit);
  });

  router.get<AuthenticatedState>(endpoints.listMessages.path, member, async (context) => {
    const query = validate(endpoints.listMessages.request, context.query);
    context.body = await services.conversations.listMessages(context.state.user.id, context.params.conversationId!, query);
  });

  router.patch<AuthenticatedState>(endpoints.updateConversation.path, member, async (context) => {
    const changes = validate(endpoints.updateConversation.request, context.request.body);
    const conversationId = context.params.conversationId!;
    context.body = { conversation: await services.generation.updateConversation(context.state.user.id, conversationId, changes) };
  });

  router.delete<AuthenticatedState>(endpoints.deleteConversation.path, member, async (context) => {
    await services.generation.deleteConversation(context.state.user.id, context.params.conversationId!);
    context.status = 204;
  });

  router.post<AuthenticatedState>(endpoints.sendMessage.path, member, async (context) => {
    const request = validate(endpoints.sendMessage.request, context.request.body);
    const conversationId = context.params.conversationId!;
    context.status = 202;
    context.body = await services.generation.sendMessage(context.state.user.id, conversationId, request);
  });

  return router;
}

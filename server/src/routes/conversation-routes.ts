import { endpoints } from "../../../protocol/http/endpoints";
import { replyWithAnswerEvents } from "../http/answer-event-stream";
import type { Mount } from "../http/mount";
import type { Services } from "../services/services";

/**
 * A member's conversations. Reads go to the conversation service; writes that involve a model or
 * a running answer (create with a model, switch model, delete, send) go to the generation service.
 */
export function conversationRoutes(mount: Mount, services: Services): void {
  mount(endpoints.listConversations, ({ request, user }) => services.conversations.list(user.id, request));

  mount(endpoints.createConversation, async ({ request, user, context }) => {
    // a preset gives what the request leaves out: its system prompt, model, temperature and output limit
    const { presetId, ...given } = request;
    const preset = presetId === undefined ? undefined : await services.prompts.presetSettings(presetId);
    const created = await services.generation.createConversation(user.id, {
      ...given,
      modelId: given.modelId ?? preset?.modelId ?? undefined,
      systemPromptId: preset?.systemPromptId ?? null,
      temperature: given.temperature !== undefined ? given.temperature : (preset?.temperature ?? null),
      maxOutputTokens: given.maxOutputTokens !== undefined ? given.maxOutputTokens : (preset?.maxOutputTokens ?? null),
    });
    return replyWithAnswerEvents(context, services.generation, user.id, created);
  });

  mount(endpoints.getConversation, ({ request, params, user }) =>
    services.conversations.get(user.id, params.conversationId ?? "", request.limit),
  );

  mount(endpoints.listMessages, ({ request, params, user }) =>
    services.conversations.listMessages(user.id, params.conversationId ?? "", request),
  );

  mount(endpoints.updateConversation, async ({ request, params, user }) => ({
    conversation: await services.generation.updateConversation(user.id, params.conversationId ?? "", request),
  }));

  mount(endpoints.deleteConversation, ({ params, user }) => services.generation.deleteConversation(user.id, params.conversationId ?? ""));

  mount(endpoints.sendMessage, async ({ request, params, user, context }) =>
    replyWithAnswerEvents(
      context,
      services.generation,
      user.id,
      await services.generation.sendMessage(user.id, params.conversationId ?? "", request),
    ),
  );
}

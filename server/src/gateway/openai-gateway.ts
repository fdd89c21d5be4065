import crypto from "node:crypto";
import { collectAnswer } from "./collect-answer";
import type { GatewayApi } from "./gateway-api";
import { streamAnswer } from "./gateway-api";
import { GatewayError } from "./gateway-error";
import type { GatewayService } from "./gateway-service";
import { openAiErrorBody, openAiErrorStatus, OpenAiStreamWriter, toOpenAiCompletion, toOpenAiModel } from "./openai-wire-format";
import { parseOpenAiChatRequest } from "./parse-openai-request";
import { readPresentedKey } from "./read-presented-key";

/** `/openai/v1`: chat completions (streamed or not) and the models the caller may use (docs/gateway.md#openai-chat-completions). */
export function openAiGateway(gateway: GatewayService, now: () => number): GatewayApi {
  return {
    prefix: "/openai/v1",
    requestIdHeader: "x-request-id",
    errorResponse: (error) => ({ status: openAiErrorStatus(error), body: openAiErrorBody(error) }),
    routes: [
      {
        method: "POST",
        path: "/chat/completions",
        async handle(call) {
          const caller = await gateway.authenticate(readPresentedKey(call.context));
          const request = parseOpenAiChatRequest(call.context.request.body);
          const answer = await gateway.open(caller, request, call.signal);
          const identity = {
            id: `chatcmpl-${crypto.randomUUID()}`,
            created: Math.floor(now() / 1000),
            model: answer.model.id,
            // read when the answer ends: the provider whose finish reason it is (a fallback's, if one answered)
            get provider() {
              return answer.answeredBy.provider;
            },
          };
          if (request.isStream) {
            const writer = new OpenAiStreamWriter(identity, request.includeUsage);
            await streamAnswer(call, answer.events, {
              write: (event) => writer.write(event),
              end: () => writer.end(answer.usage),
              error: (error) => writer.error(error),
            });
            return;
          }
          const collected = await collectAnswer(answer.events);
          call.context.body = toOpenAiCompletion(identity, collected, answer.usage);
        },
      },
      {
        method: "GET",
        path: "/models",
        async handle(call) {
          await gateway.authenticate(readPresentedKey(call.context));
          const { models, refreshedAt } = await gateway.listModels();
          const created = refreshedAt === null ? 0 : Math.floor(Date.parse(refreshedAt) / 1000);
          call.context.body = { object: "list", data: models.map((model) => toOpenAiModel(model, created)) };
        },
      },
      {
        method: "GET",
        path: /^\/models\/(.+)$/,
        async handle(call) {
          await gateway.authenticate(readPresentedKey(call.context));
          const { models, refreshedAt } = await gateway.listModels();
          const model = models.find((candidate) => candidate.id === call.pathValue);
          if (model === undefined) {
            throw new GatewayError(
              "model_not_found",
              404,
              `The model \`${call.pathValue ?? ""}\` does not exist or you do not have access to it.`,
              {
                param: "model",
              },
            );
          }
          call.context.body = toOpenAiModel(model, refreshedAt === null ? 0 : Math.floor(Date.parse(refreshedAt) / 1000));
        },
      },
    ],
  };
}

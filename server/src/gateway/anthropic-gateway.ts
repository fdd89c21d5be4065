import crypto from "node:crypto";
import { z } from "zod";
import { anthropicErrorBody, AnthropicStreamWriter, toAnthropicMessage, toAnthropicModel } from "./anthropic-wire-format";
import { collectAnswer } from "./collect-answer";
import type { GatewayApi } from "./gateway-api";
import { streamAnswer } from "./gateway-api";
import { GatewayError, invalidRequest } from "./gateway-error";
import type { GatewayService } from "./gateway-service";
import { parseAnthropicMessagesRequest } from "./parse-anthropic-request";
import { readPresentedKey } from "./read-presented-key";

/** `GET /models` paging, as the Messages API takes it (docs/providers.md#anthropic-model-list). */
const modelPageSchema = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(20),
  after_id: z.string().optional(),
  before_id: z.string().optional(),
});

/** `/anthropic/v1`: messages (streamed or not) and the models the caller may use (docs/gateway.md#anthropic-messages). */
export function anthropicGateway(gateway: GatewayService): GatewayApi {
  return {
    prefix: "/anthropic/v1",
    requestIdHeader: "request-id",
    errorResponse: (error, requestId) => ({ status: error.status, body: anthropicErrorBody(error, requestId) }),
    routes: [
      {
        method: "POST",
        path: "/messages",
        async handle(call) {
          const caller = await gateway.authenticate(readPresentedKey(call.context));
          const request = parseAnthropicMessagesRequest(call.context.request.body);
          const answer = await gateway.open(caller, request, call.signal);
          const identity = {
            id: `msg_${crypto.randomBytes(16).toString("hex")}`,
            model: answer.model.id,
            // read when the answer ends: the provider whose stop reason it is (a fallback's, if one answered)
            get provider() {
              return answer.answeredBy.provider;
            },
          };
          if (request.isStream) {
            const writer = new AnthropicStreamWriter(identity);
            await streamAnswer(call, answer.events, {
              write: (event) => writer.write(event, answer.usage),
              end: () => writer.end(answer.usage),
              error: (error) => writer.error(error),
            });
            return;
          }
          const collected = await collectAnswer(answer.events);
          call.context.body = toAnthropicMessage(identity, collected, answer.usage);
        },
      },
      {
        method: "GET",
        path: "/models",
        async handle(call) {
          await gateway.authenticate(readPresentedKey(call.context));
          const parsed = modelPageSchema.safeParse(call.context.query);
          if (!parsed.success)
            throw invalidRequest(`${parsed.error.issues[0]?.path.join(".") ?? "query"}: ${parsed.error.issues[0]?.message ?? "not valid"}`);
          const { limit, after_id: afterId, before_id: beforeId } = parsed.data;
          const { models } = await gateway.listModels();
          const indexOf = (id: string) => models.findIndex((model) => model.id === id);
          let start: number;
          let end: number;
          if (beforeId !== undefined) {
            end = indexOf(beforeId);
            if (end === -1) throw invalidRequest(`before_id: no model ${JSON.stringify(beforeId)}`, "before_id");
            start = Math.max(0, end - limit);
          } else {
            start = afterId === undefined ? 0 : indexOf(afterId) + 1;
            if (afterId !== undefined && start === 0) throw invalidRequest(`after_id: no model ${JSON.stringify(afterId)}`, "after_id");
            end = Math.min(models.length, start + limit);
          }
          const page = models.slice(start, end);
          call.context.body = {
            data: page.map(toAnthropicModel),
            has_more: beforeId !== undefined ? start > 0 : end < models.length,
            first_id: page[0]?.id ?? null,
            last_id: page[page.length - 1]?.id ?? null,
          };
        },
      },
      {
        method: "GET",
        path: /^\/models\/(.+)$/,
        async handle(call) {
          await gateway.authenticate(readPresentedKey(call.context));
          const { models } = await gateway.listModels();
          const model = models.find((candidate) => candidate.id === call.pathValue);
          if (model === undefined) throw new GatewayError("model_not_found", 404, `model: ${call.pathValue ?? ""}`);
          call.context.body = toAnthropicModel(model);
        },
      },
    ],
  };
}

import { z } from "zod";
import * as accounts from "./accounts";
import * as apiKeys from "./api-keys";
import * as budgets from "./budgets";
import * as conversationLeaf from "./conversation-leaf";
import * as conversations from "./conversations";
import * as exportFiles from "./export";
import { metaResponseSchema } from "./meta";
import * as models from "./models";
import * as prices from "./prices";
import * as prompts from "./prompts";
import * as providers from "./providers";
import * as usage from "./usage";
import * as search from "./search";

/**
 * The one definition of every JSON endpoint under /api/v1. The server's routes validate with
 * these schemas and the extension's client is typed from them, so the two cannot drift.
 * `access`: public (no token), member (any active account), admin.
 * Paths use `:name` parameters. `request` is the JSON body (or the query, for GET).
 */
export interface EndpointDefinition {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  access: "public" | "member" | "admin";
  request?: z.ZodType;
  response?: z.ZodType;
  /** Success status; 200 unless stated. */
  status?: number;
  /**
   * Also callable with a personal API key (`Authorization: Bearer jgl_…` or `x-api-key`), for scripts.
   * Only reads of the caller's own usage: API keys never manage an account.
   */
  acceptsApiKey?: true;
}

const emptySchema = z.object({}).strict();

export const endpoints = {
  getMeta: { method: "GET", path: "/meta", access: "public", response: metaResponseSchema },

  register: {
    method: "POST",
    path: "/auth/register",
    access: "public",
    request: accounts.registerRequestSchema,
    // the same answer whether the name was free or not; signing in tells the outcome
    response: accounts.registrationAcceptedResponseSchema,
    status: 202,
  },
  signIn: {
    method: "POST",
    path: "/auth/sign-in",
    access: "public",
    request: accounts.credentialsRequestSchema,
    response: accounts.sessionResponseSchema,
  },
  refresh: {
    method: "POST",
    path: "/auth/refresh",
    access: "public",
    request: accounts.refreshRequestSchema,
    response: accounts.sessionResponseSchema,
  },
  signOut: { method: "POST", path: "/auth/sign-out", access: "public", request: accounts.signOutRequestSchema, status: 204 },
  changePassword: {
    method: "POST",
    path: "/auth/change-password",
    access: "member",
    request: accounts.changePasswordRequestSchema,
    response: accounts.sessionResponseSchema,
  },
  getMe: { method: "GET", path: "/me", access: "member", response: accounts.userResponseSchema },
  updatePreferences: {
    method: "PATCH",
    path: "/me/preferences",
    access: "member",
    request: accounts.updatePreferencesRequestSchema,
    response: accounts.userResponseSchema,
  },

  listUsers: { method: "GET", path: "/admin/users", access: "admin", response: accounts.userListResponseSchema },
  updateUser: {
    method: "PATCH",
    path: "/admin/users/:userId",
    access: "admin",
    request: accounts.updateUserRequestSchema,
    response: accounts.userResponseSchema,
  },
  getTeamSettings: { method: "GET", path: "/admin/settings", access: "admin", response: accounts.teamSettingsSchema },
  updateTeamSettings: {
    method: "PATCH",
    path: "/admin/settings",
    access: "admin",
    request: accounts.updateTeamSettingsRequestSchema,
    response: accounts.teamSettingsSchema,
  },

  listProviders: { method: "GET", path: "/admin/providers", access: "admin", response: providers.providerListResponseSchema },
  updateProvider: {
    method: "PATCH",
    path: "/admin/providers/:kind",
    access: "admin",
    request: providers.updateProviderRequestSchema,
    response: providers.providerResponseSchema,
  },
  testProvider: {
    method: "POST",
    path: "/admin/providers/:kind/test",
    access: "admin",
    request: emptySchema.optional(),
    response: providers.testConnectionResponseSchema,
  },
  refreshProviderModels: {
    method: "POST",
    path: "/admin/providers/:kind/refresh-models",
    access: "admin",
    request: emptySchema.optional(),
    response: models.adminModelListResponseSchema,
  },
  listAllModels: { method: "GET", path: "/admin/models", access: "admin", response: models.adminModelListResponseSchema },
  updateModelVisibility: {
    method: "PATCH",
    path: "/admin/models",
    access: "admin",
    request: models.updateModelVisibilityRequestSchema,
    response: models.adminModelListResponseSchema,
  },

  listModelFallbacks: {
    method: "GET",
    path: "/admin/model-fallbacks",
    access: "admin",
    response: models.modelFallbackListResponseSchema,
  },
  updateModelFallbacks: {
    method: "PUT",
    path: "/admin/model-fallbacks",
    access: "admin",
    request: models.updateModelFallbacksRequestSchema,
    response: models.modelFallbackListResponseSchema,
  },

  listModels: { method: "GET", path: "/models", access: "member", response: models.modelListResponseSchema },

  listConversations: {
    method: "GET",
    path: "/conversations",
    access: "member",
    request: conversations.conversationListQuerySchema,
    response: conversations.conversationListResponseSchema,
  },
  createConversation: {
    method: "POST",
    path: "/conversations",
    access: "member",
    request: conversations.createConversationRequestSchema,
    response: conversations.createConversationResponseSchema,
    status: 201,
  },
  getConversation: {
    method: "GET",
    path: "/conversations/:conversationId",
    access: "member",
    request: conversations.messagePageQuerySchema.pick({ limit: true }),
    response: conversations.conversationDetailResponseSchema,
  },
  listMessages: {
    method: "GET",
    path: "/conversations/:conversationId/messages",
    access: "member",
    request: conversations.messagePageQuerySchema,
    response: conversations.messagePageResponseSchema,
  },
  updateConversation: {
    method: "PATCH",
    path: "/conversations/:conversationId",
    access: "member",
    request: conversations.updateConversationRequestSchema,
    response: conversations.conversationResponseSchema,
  },
  deleteConversation: { method: "DELETE", path: "/conversations/:conversationId", access: "member", status: 204 },
  sendMessage: {
    method: "POST",
    path: "/conversations/:conversationId/messages",
    access: "member",
    request: conversations.sendMessageRequestSchema,
    response: conversations.sendMessageResponseSchema,
    status: 202,
  },
  getMessage: { method: "GET", path: "/messages/:messageId", access: "member", response: conversations.messageResponseSchema },
  getAnswerContext: {
    method: "GET",
    path: "/messages/:messageId/context",
    access: "member",
    request: conversations.contextPageQuerySchema,
    response: conversations.answerContextResponseSchema,
  },
  stopGeneration: {
    method: "POST",
    path: "/messages/:messageId/stop",
    access: "member",
    request: emptySchema.optional(),
    response: conversations.messageResponseSchema,
  },
  regenerate: {
    method: "POST",
    path: "/messages/:messageId/regenerate",
    access: "member",
    request: conversations.regenerateRequestSchema,
    response: conversations.regenerateResponseSchema,
    status: 202,
  },
  // ---- system prompts and presets ----
  getDefaultSystemPrompt: {
    method: "GET",
    path: "/me/system-prompt",
    access: "member",
    response: prompts.defaultSystemPromptResponseSchema,
  },
  setDefaultSystemPrompt: {
    method: "PUT",
    path: "/me/system-prompt",
    access: "member",
    request: prompts.setDefaultSystemPromptRequestSchema,
    response: prompts.defaultSystemPromptResponseSchema,
  },
  listPresets: { method: "GET", path: "/presets", access: "member", response: prompts.presetListResponseSchema },
  createPreset: {
    method: "POST",
    path: "/admin/presets",
    access: "admin",
    request: prompts.createPresetRequestSchema,
    response: prompts.presetResponseSchema,
    status: 201,
  },
  updatePreset: {
    method: "PATCH",
    path: "/admin/presets/:presetId",
    access: "admin",
    request: prompts.updatePresetRequestSchema,
    response: prompts.presetResponseSchema,
  },
  deletePreset: { method: "DELETE", path: "/admin/presets/:presetId", access: "admin", status: 204 },

  /** The message and the others with its parent (edits, regenerated and rerun answers), oldest first. */
  listMessageSiblings: {
    method: "GET",
    path: "/messages/:messageId/siblings",
    access: "member",
    response: conversations.messageSiblingsResponseSchema,
  },

  createApiKey: {
    method: "POST",
    path: "/me/api-keys",
    access: "member",
    request: apiKeys.createApiKeyRequestSchema,
    response: apiKeys.createApiKeyResponseSchema,
    status: 201,
  },
  listApiKeys: { method: "GET", path: "/me/api-keys", access: "member", response: apiKeys.apiKeyListResponseSchema },
  revokeApiKey: { method: "DELETE", path: "/me/api-keys/:keyId", access: "member", status: 204 },
  listAllApiKeys: { method: "GET", path: "/admin/api-keys", access: "admin", response: apiKeys.adminApiKeyListResponseSchema },
  revokeAnyApiKey: { method: "DELETE", path: "/admin/api-keys/:keyId", access: "admin", status: 204 },

  getUsage: {
    method: "GET",
    path: "/usage",
    access: "member",
    request: usage.usageQuerySchema,
    response: usage.usageResponseSchema,
    acceptsApiKey: true,
  },
  getUsageSummary: {
    method: "GET",
    path: "/me/usage-summary",
    access: "member",
    response: usage.usageSummaryResponseSchema,
    acceptsApiKey: true,
  },
  getConversationUsage: {
    method: "GET",
    path: "/conversations/:conversationId/usage",
    access: "member",
    response: usage.conversationUsageResponseSchema,
  },

  listPrices: { method: "GET", path: "/admin/prices", access: "admin", response: prices.priceListResponseSchema },
  setPrice: {
    method: "POST",
    path: "/admin/prices",
    access: "admin",
    request: prices.setPriceRequestSchema,
    response: prices.modelPriceSchema,
    status: 201,
  },
  getPriceHistory: {
    method: "GET",
    path: "/admin/prices/history",
    access: "admin",
    request: prices.priceHistoryQuerySchema,
    response: prices.priceHistoryResponseSchema,
  },

  getBudgets: { method: "GET", path: "/admin/budgets", access: "admin", response: budgets.budgetsResponseSchema },
  updateTeamBudget: {
    method: "PATCH",
    path: "/admin/budgets/team",
    access: "admin",
    request: budgets.updateTeamBudgetRequestSchema,
    response: budgets.budgetsResponseSchema,
  },
  updateUserBudget: {
    method: "PATCH",
    path: "/admin/budgets/users/:userId",
    access: "admin",
    request: budgets.updateUserBudgetRequestSchema,
    response: budgets.budgetsResponseSchema,
  },
  // ---- the library: search, find in a conversation, open a conversation at a message, import ----
  search: { method: "GET", path: "/search", access: "member", request: search.searchQuerySchema, response: search.searchResponseSchema },
  findInConversation: {
    method: "GET",
    path: "/conversations/:conversationId/find",
    access: "member",
    request: search.findInConversationQuerySchema,
    response: search.findInConversationResponseSchema,
  },
  setConversationLeaf: {
    method: "PUT",
    path: "/conversations/:conversationId/leaf",
    access: "member",
    request: conversationLeaf.setLeafRequestSchema,
    response: conversationLeaf.setLeafResponseSchema,
  },
  /** The body is the file itself (a Juggler export or ChatGPT's conversations.json), up to IMPORT_MAX_BYTES. */
  importConversations: { method: "POST", path: "/import", access: "member", response: exportFiles.importResponseSchema, status: 201 },
} as const satisfies Record<string, EndpointDefinition>;

/** Server-sent events of an answer (see generation-events.ts). Not JSON: handled apart. */
export const generationStreamPath = "/messages/:messageId/stream";

/**
 * One attachment of a question, as stored: an image's bytes with its type, a file's or a selection's
 * text as text/plain. Not JSON (history pages list attachments without their content): handled apart.
 */
export const messageAttachmentPath = "/messages/:messageId/attachments/:attachmentId";

export type Endpoints = typeof endpoints;
export type EndpointName = keyof Endpoints;
export type EndpointRequest<Name extends EndpointName> = Endpoints[Name] extends { request: infer Schema extends z.ZodType }
  ? z.input<Schema>
  : undefined;
export type EndpointResponse<Name extends EndpointName> = Endpoints[Name] extends { response: infer Schema extends z.ZodType }
  ? z.infer<Schema>
  : undefined;

export const API_PREFIX = "/api/v1";

/** Fill `:name` parameters; each value is URI-encoded. */
export function buildPath(path: string, parameters: Record<string, string> = {}): string {
  return path.replace(/:([A-Za-z]+)/g, (_match, name: string) => {
    const value = parameters[name];
    if (value === undefined) throw new Error(`Missing path parameter ${name}`);
    return encodeURIComponent(value);
  });
}

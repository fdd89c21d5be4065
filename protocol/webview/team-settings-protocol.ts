import { z } from "zod";
import {
  teamSettingsSchema,
  updateTeamSettingsRequestSchema,
  updateUserRequestSchema,
  userListResponseSchema,
  userResponseSchema,
} from "../http/accounts";
import {
  adminModelListResponseSchema,
  modelFallbackListResponseSchema,
  updateModelFallbacksRequestSchema,
  updateModelVisibilityRequestSchema,
} from "../http/models";
import { budgetsResponseSchema, updateTeamBudgetRequestSchema, updateUserBudgetRequestSchema } from "../http/budgets";
import { modelPriceSchema, priceListResponseSchema, setPriceRequestSchema } from "../http/prices";
import {
  providerKindSchema,
  providerListResponseSchema,
  providerResponseSchema,
  testConnectionResponseSchema,
  updateProviderRequestSchema,
} from "../http/providers";
import { createPresetRequestSchema, presetListResponseSchema, presetResponseSchema } from "../http/prompts";

/**
 * Webview ⇄ extension host messages of the admin "Team Settings" panel. Same envelopes as the chat
 * view (envelope.ts): requests answered by id,
 * commands without an answer, notifications from the host. Every request maps onto one admin
 * endpoint of the team server, and its result is that endpoint's response schema, so the panel and
 * the server cannot drift. The host validates the params; provider keys only travel webview → host
 * (a replacement key); the host never sends a key back, only the server's masked form.
 */

const emptyParamsSchema = z.object({});
const providerKindParamsSchema = z.object({ kind: providerKindSchema });

export const teamSettingsRequests = {
  /** GET /admin/providers */
  "providers/list": { params: emptyParamsSchema, result: providerListResponseSchema },
  /** PATCH /admin/providers/:kind — isActive, baseUrl and/or a replacement apiKey (null removes the key). */
  "provider/update": {
    params: providerKindParamsSchema.and(updateProviderRequestSchema),
    result: providerResponseSchema,
  },
  /** POST /admin/providers/:kind/test */
  "provider/test": { params: providerKindParamsSchema, result: testConnectionResponseSchema },
  /** POST /admin/providers/:kind/refresh-models */
  "provider/refresh-models": { params: providerKindParamsSchema, result: adminModelListResponseSchema },
  /** GET /admin/models */
  "models/list-all": { params: emptyParamsSchema, result: adminModelListResponseSchema },
  /** PATCH /admin/models */
  "models/set-visibility": { params: updateModelVisibilityRequestSchema, result: adminModelListResponseSchema },
  /** GET /admin/model-fallbacks */
  "fallbacks/list": { params: emptyParamsSchema, result: modelFallbackListResponseSchema },
  /** PUT /admin/model-fallbacks — one model's fallbacks, in order (empty: none). */
  "fallbacks/set": { params: updateModelFallbacksRequestSchema, result: modelFallbackListResponseSchema },
  /** GET /admin/users */
  "users/list": { params: emptyParamsSchema, result: userListResponseSchema },
  /** PATCH /admin/users/:userId */
  "user/update": {
    params: z.object({ userId: z.string().min(1).max(100) }).and(updateUserRequestSchema),
    result: userResponseSchema,
  },
  /** GET /admin/settings */
  "settings/get": { params: emptyParamsSchema, result: teamSettingsSchema },
  /** PATCH /admin/settings */
  "settings/update": { params: updateTeamSettingsRequestSchema, result: teamSettingsSchema },
  /** GET /admin/prices */
  "prices/list": { params: emptyParamsSchema, result: priceListResponseSchema },
  /** POST /admin/prices — a model's price from now (or a later effectiveFrom). */
  "prices/set": { params: setPriceRequestSchema, result: modelPriceSchema },
  /** GET /admin/budgets */
  "budgets/get": { params: emptyParamsSchema, result: budgetsResponseSchema },
  /** PATCH /admin/budgets/team */
  "budgets/update-team": { params: updateTeamBudgetRequestSchema, result: budgetsResponseSchema },
  /** PATCH /admin/budgets/users/:userId — each limit a value, null (none for them) or "inherit". */
  "budgets/update-user": {
    params: z.object({ userId: z.string().min(1).max(100), changes: updateUserBudgetRequestSchema }),
    result: budgetsResponseSchema,
  },
  /** GET /presets */
  "presets/list": { params: emptyParamsSchema, result: presetListResponseSchema },
  /** POST /admin/presets */
  "preset/create": { params: createPresetRequestSchema, result: presetResponseSchema },
  /** PATCH /admin/presets/:presetId, every field as the form shows it */
  "preset/update": { params: createPresetRequestSchema.extend({ presetId: z.string().min(1).max(100) }), result: presetResponseSchema },
  /** DELETE /admin/presets/:presetId */
  "preset/delete": { params: z.object({ presetId: z.string().min(1).max(100) }), result: z.object({}) },
} as const;

export const teamSettingsCommands = {
  /** The panel's script is running and listening; it then loads its data with requests. */
  "webview/ready": emptyParamsSchema,
} as const;

export const teamSettingsNotifications = {
  /** Something changed outside the panel (e.g. signed in as someone else): load everything again. */
  "data/invalidated": z.object({ reason: z.string().max(500).optional() }),
} as const;

export type TeamSettingsRequestName = keyof typeof teamSettingsRequests;
export type TeamSettingsRequestParams<Name extends TeamSettingsRequestName> = z.infer<(typeof teamSettingsRequests)[Name]["params"]>;
export type TeamSettingsRequestResult<Name extends TeamSettingsRequestName> = z.infer<(typeof teamSettingsRequests)[Name]["result"]>;
export type TeamSettingsCommandName = keyof typeof teamSettingsCommands;
export type TeamSettingsNotificationName = keyof typeof teamSettingsNotifications;
export type TeamSettingsNotificationParams<Name extends TeamSettingsNotificationName> = z.infer<(typeof teamSettingsNotifications)[Name]>;

/** A request the host can act on: its name and its validated params. */
export type ParsedTeamSettingsRequest = {
  [Name in TeamSettingsRequestName]: { method: Name; params: TeamSettingsRequestParams<Name> };
}[TeamSettingsRequestName];

/**
 * Parses one incoming request's params against the named schema; returns undefined for unknown
 * names and throws (a ZodError) for invalid params, like `parseCommand` of the chat protocol.
 */
export function parseTeamSettingsRequest(method: string, params: unknown): ParsedTeamSettingsRequest | undefined {
  if (!Object.hasOwn(teamSettingsRequests, method)) return undefined;
  const name = method as TeamSettingsRequestName;
  return { method: name, params: teamSettingsRequests[name].params.parse(params) } as ParsedTeamSettingsRequest;
}

/** Parses one incoming command; undefined for unknown names, throws for invalid params. */
export function parseTeamSettingsCommand(
  method: string,
  params: unknown,
): { method: TeamSettingsCommandName; params: unknown } | undefined {
  if (!Object.hasOwn(teamSettingsCommands, method)) return undefined;
  const name = method as TeamSettingsCommandName;
  return { method: name, params: teamSettingsCommands[name].parse(params) };
}

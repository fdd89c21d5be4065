import { z } from "zod";
import { errorDetailSchema, type ErrorDetail } from "../http/error-codes";

/**
 * The envelopes every webview and the extension host exchange through postMessage, whatever the
 * view: the webview sends requests (answered by id) and commands (no answer); the host sends
 * responses and notifications. A view's protocol (chat-protocol.ts, team-settings-protocol.ts)
 * names its messages and their schemas; both sides' channels (the webview's HostBridge, the host's
 * WebviewChannel) are generic over that shape and validate against it.
 */

/** The shape of a view's protocol: request, command and notification schemas by `noun/verb` name. */
export interface WebviewProtocol {
  readonly requests: Readonly<Record<string, { readonly params: z.ZodType; readonly result: z.ZodType }>>;
  readonly commands: Readonly<Record<string, z.ZodType>>;
  readonly notifications: Readonly<Record<string, z.ZodType>>;
}

export type RequestName<Protocol extends WebviewProtocol> = keyof Protocol["requests"] & string;
/** What the webview may pass (before defaults and transforms). */
export type RequestParams<Protocol extends WebviewProtocol, Name extends RequestName<Protocol>> = z.input<
  Protocol["requests"][Name]["params"]
>;
/** What the host's handler receives, validated. */
export type ValidatedRequestParams<Protocol extends WebviewProtocol, Name extends RequestName<Protocol>> = z.output<
  Protocol["requests"][Name]["params"]
>;
export type RequestResult<Protocol extends WebviewProtocol, Name extends RequestName<Protocol>> = z.output<
  Protocol["requests"][Name]["result"]
>;
export type CommandName<Protocol extends WebviewProtocol> = keyof Protocol["commands"] & string;
export type CommandParams<Protocol extends WebviewProtocol, Name extends CommandName<Protocol>> = z.input<Protocol["commands"][Name]>;
export type ValidatedCommandParams<Protocol extends WebviewProtocol, Name extends CommandName<Protocol>> = z.output<
  Protocol["commands"][Name]
>;
export type NotificationName<Protocol extends WebviewProtocol> = keyof Protocol["notifications"] & string;
export type NotificationParams<Protocol extends WebviewProtocol, Name extends NotificationName<Protocol>> = z.output<
  Protocol["notifications"][Name]
>;

/** Webview → host. */
export const webviewToHostSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("request"), id: z.number().int(), method: z.string().max(64), params: z.unknown() }),
  z.object({ kind: z.literal("command"), method: z.string().max(64), params: z.unknown() }),
]);
export type WebviewToHostEnvelope = z.infer<typeof webviewToHostSchema>;

/** Host → webview; `NotificationMethod` narrows the notification names to one view's. */
export type HostToWebviewEnvelope<NotificationMethod extends string = string> =
  | { kind: "response"; id: number; ok: true; result: unknown }
  | { kind: "response"; id: number; ok: false; error: ErrorDetail }
  | { kind: "notification"; method: NotificationMethod; params: unknown };

// A plain union: two members share kind "response" (told apart by `ok`), which a discriminated
// union on "kind" rejects ("Duplicate discriminator value") the first time it parses.
export const hostToWebviewSchema = z.union([
  z.object({ kind: z.literal("response"), id: z.number().int(), ok: z.literal(true), result: z.unknown() }),
  z.object({ kind: z.literal("response"), id: z.number().int(), ok: z.literal(false), error: errorDetailSchema }),
  z.object({ kind: z.literal("notification"), method: z.string(), params: z.unknown() }),
]);

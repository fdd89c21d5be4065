import type Router from "@koa/router";
import type { ParameterizedContext } from "koa";
import type { z } from "zod";
import type { EndpointDefinition } from "../../../protocol/http/endpoints";
import type { AuthenticatedUser } from "../domain/authenticated-user";
import { requireAdmin, requireMember, type AuthenticatedState, type Authenticator } from "./auth-middleware";
import { requireMemberOrApiKey, type ApiKeyAuthenticator } from "./require-member-or-api-key";
import { validate } from "./validate";

/** What a handler receives: the request validated by the endpoint's own schema. */
export interface EndpointCall<Definition extends EndpointDefinition> {
  /** The JSON body (or, for GET, the query) parsed by the definition's `request` schema. */
  request: Definition extends { request: infer Schema extends z.ZodType } ? z.infer<Schema> : undefined;
  /** Path parameters (`:conversationId` …), as the router decoded them. */
  params: Record<string, string>;
  /** The signed-in, active user; every endpoint that is not public has one. */
  user: Definition["access"] extends "public" ? undefined : AuthenticatedUser;
  /**
   * For the rare handler that must read a header, answer with another success status, or answer
   * on the raw response itself (`context.respond = false`: what it returns is then not written).
   */
  context: ParameterizedContext<Partial<AuthenticatedState>>;
}

/** What a handler returns: the response body as the definition types it (nothing for 204s). */
export type EndpointResult<Definition extends EndpointDefinition> = Definition extends { response: infer Schema extends z.ZodType }
  ? z.input<Schema>
  : void;

export type EndpointHandler<Definition extends EndpointDefinition> = (
  call: EndpointCall<Definition>,
) => Promise<EndpointResult<Definition>> | EndpointResult<Definition>;

/** Mounts endpoints on a router, each exactly as protocol/http/endpoints.ts defines it. */
export type Mount = <Definition extends EndpointDefinition>(definition: Definition, handler: EndpointHandler<Definition>) => void;

/** Every definition mounted through any `Mount` of one app, so a test can check none is missing or doubled. */
export type MountedEndpoints = EndpointDefinition[];

/**
 * Binds routes to their definitions: method and path, who may call (public / member / admin →
 * the auth middleware), request validation (body, or query for GET) and the success status all come
 * from the one definition in protocol/http/endpoints.ts, so a route cannot drift from what the
 * extension's client was typed from.
 */
export function createMount(router: Router, authenticator: Authenticator, mounted: MountedEndpoints, apiKeys?: ApiKeyAuthenticator): Mount {
  const member = requireMember(authenticator);
  const admin = requireAdmin(authenticator);
  // a definition that says so also takes a personal API key (never for account management)
  const memberOrApiKey = apiKeys === undefined ? member : requireMemberOrApiKey(authenticator, apiKeys);
  return (definition, handler) => {
    mounted.push(definition);
    const memberAccess = "acceptsApiKey" in definition && definition.acceptsApiKey ? memberOrApiKey : member;
    const access = definition.access === "admin" ? [admin] : definition.access === "member" ? [memberAccess] : [];
    const method = definition.method.toLowerCase() as "get" | "post" | "put" | "patch" | "delete";
    router[method](definition.path, ...access, async (context) => {
      const input = definition.method === "GET" ? context.query : (context.request.body ?? {});
      const request = definition.request === undefined ? undefined : validate(definition.request, input);
      const koaContext = context as unknown as ParameterizedContext<Partial<AuthenticatedState>>;
      // the handler may still choose another success status (e.g. 202 for a registration that waits)
      context.status = definition.status ?? 200;
      const body = await handler({
        request,
        params: context.params as Record<string, string>,
        user: koaContext.state.user,
        context: koaContext,
      } as EndpointCall<typeof definition>);
      // a handler that answered on the raw response itself (an answer's event stream) is done
      if (koaContext.respond === false) return;
      if (body !== undefined) context.body = body;
      else if (context.status !== 204) context.status = 204;
    });
  };
}

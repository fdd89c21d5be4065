import type { ErrorDetail } from "../../../protocol/http/error-codes";
import { webviewToHostSchema } from "../../../protocol/webview/chat-protocol";
import {
  teamSettingsRequests,
  teamSettingsCommands,
  type TeamSettingsNotificationName,
  type TeamSettingsNotificationParams,
  type TeamSettingsRequestName,
  type TeamSettingsRequestParams,
  type TeamSettingsRequestResult,
} from "../../../protocol/webview/team-settings-protocol";
import type { TeamServerClient } from "../server-client/team-server-client";
import { TeamServerError } from "../server-client/team-server-error";

/** What the Team Settings panel's host posts: responses and notifications, same envelopes as the chat. */
export type TeamSettingsHostMessage =
  | { kind: "response"; id: number; ok: true; result: unknown }
  | { kind: "response"; id: number; ok: false; error: ErrorDetail }
  | { kind: "notification"; method: TeamSettingsNotificationName; params: TeamSettingsNotificationParams<TeamSettingsNotificationName> };

type Handlers = {
  [Name in TeamSettingsRequestName]: (params: TeamSettingsRequestParams<Name>) => Promise<TeamSettingsRequestResult<Name>>;
};

/**
 * The host side of the admin "Team Settings" panel: each request maps onto one admin endpoint.
 * Params are validated here; the server checks the caller is an admin. Provider keys only go to
 * the server; what comes back is the server's masked form.
 */
export class TeamSettingsHandlers {
  private readonly handlers: Handlers;

  constructor(
    client: TeamServerClient,
    private readonly post: (message: TeamSettingsHostMessage) => void,
    /** Called after changes that alter what members can pick (models shown or hidden, refreshed). */
    onModelsChanged: () => void = () => undefined,
  ) {
    const changingModels = async <Result>(work: Promise<Result>): Promise<Result> => {
      const result = await work;
      onModelsChanged();
      return result;
    };
    this.handlers = {
      "providers/list": () => client.call("listProviders"),
      "provider/update": ({ kind, ...changes }) => changingModels(client.call("updateProvider", { params: { kind }, body: changes })),
      "provider/test": ({ kind }) => client.call("testProvider", { params: { kind }, body: {} }),
      "provider/refresh-models": ({ kind }) => changingModels(client.call("refreshProviderModels", { params: { kind }, body: {} })),
      "models/list-all": () => client.call("listAllModels"),
      "models/set-visibility": (params) => changingModels(client.call("updateModelVisibility", { body: params })),
      "users/list": () => client.call("listUsers"),
      "user/update": ({ userId, ...changes }) => client.call("updateUser", { params: { userId }, body: changes }),
      "settings/get": () => client.call("getTeamSettings"),
      "settings/update": (params) => client.call("updateTeamSettings", { body: params }),
    };
  }

  async handleMessage(message: unknown): Promise<void> {
    const envelope = webviewToHostSchema.safeParse(message);
    if (!envelope.success) return;
    const { method, params } = envelope.data;
    if (envelope.data.kind === "command") {
      // webview/ready is the only command: the panel loads its data with requests, nothing to do here.
      if (!Object.hasOwn(teamSettingsCommands, method)) return;
      return;
    }
    const id = envelope.data.id;
    if (!Object.hasOwn(teamSettingsRequests, method)) {
      this.post({ kind: "response", id, ok: false, error: { code: "not_found", message: `Unknown request ${method}` } });
      return;
    }
    const name = method as TeamSettingsRequestName;
    const parsed = teamSettingsRequests[name].params.safeParse(params);
    if (!parsed.success) {
      const text = parsed.error.issues
        .map((issue) => (issue.path.length ? `${issue.path.map(String).join(".")}: ${issue.message}` : issue.message))
        .join("; ");
      this.post({ kind: "response", id, ok: false, error: { code: "validation_failed", message: text } });
      return;
    }
    try {
      const handler = this.handlers[name] as (params: unknown) => Promise<unknown>;
      this.post({ kind: "response", id, ok: true, result: await handler(parsed.data) });
    } catch (error) {
      const detail: ErrorDetail =
        error instanceof TeamServerError
          ? error.toDetail()
          : { code: "internal_error", message: error instanceof Error ? error.message : String(error) };
      this.post({ kind: "response", id, ok: false, error: detail });
    }
  }

  /** Tells the panel to load everything again (e.g. another account signed in). */
  invalidate(reason?: string): void {
    this.post({ kind: "notification", method: "data/invalidated", params: { reason } });
  }
}

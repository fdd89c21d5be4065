import type { HostToWebviewEnvelope } from "../../../protocol/webview/envelope";
import {
  teamSettingsCommands,
  teamSettingsNotifications,
  teamSettingsRequests,
  type TeamSettingsNotificationName,
} from "../../../protocol/webview/team-settings-protocol";
import type { TeamServerClient } from "../server-client/team-server-client";
import { WebviewChannel } from "../webview-channel/webview-channel";

/** Built on first use, not when the bundle loads (see tools/build.mjs, lazy protocol). */
function teamSettingsProtocol() {
  return { requests: teamSettingsRequests, commands: teamSettingsCommands, notifications: teamSettingsNotifications };
}

/** What the Team Settings panel's host posts: responses and notifications, same envelopes as the chat. */
export type TeamSettingsHostMessage = HostToWebviewEnvelope<TeamSettingsNotificationName>;

/**
 * The host side of the admin "Team Settings" panel: each request maps onto one admin endpoint.
 * Params are validated by the channel; the server checks the caller is an admin. Provider keys only
 * go to the server; what comes back is the server's masked form.
 */
export class TeamSettingsHandlers {
  private readonly channel: WebviewChannel<ReturnType<typeof teamSettingsProtocol>>;

  constructor(
    client: TeamServerClient,
    post: (message: TeamSettingsHostMessage) => void,
    /** Called after changes that alter what members can pick (models shown or hidden, refreshed). */
    onModelsChanged: () => void = () => undefined,
  ) {
    const changingModels = async <Result>(work: Promise<Result>): Promise<Result> => {
      const result = await work;
      onModelsChanged();
      return result;
    };
    this.channel = new WebviewChannel({
      protocol: teamSettingsProtocol(),
      post,
      requests: {
        "providers/list": () => client.call("listProviders"),
        "provider/update": ({ kind, ...changes }) => changingModels(client.call("updateProvider", { params: { kind }, body: changes })),
        "provider/test": ({ kind }) => client.call("testProvider", { params: { kind }, body: {} }),
        "provider/refresh-models": ({ kind }) => changingModels(client.call("refreshProviderModels", { params: { kind }, body: {} })),
        "models/list-all": () => client.call("listAllModels"),
        "models/set-visibility": (params) => changingModels(client.call("updateModelVisibility", { body: params })),
        "fallbacks/list": () => client.call("listModelFallbacks"),
        "fallbacks/set": (params) => client.call("updateModelFallbacks", { body: params }),
        "users/list": () => client.call("listUsers"),
        "user/update": ({ userId, ...changes }) => client.call("updateUser", { params: { userId }, body: changes }),
        "settings/get": () => client.call("getTeamSettings"),
        "settings/update": (params) => client.call("updateTeamSettings", { body: params }),
        "prices/list": () => client.call("listPrices"),
        "prices/set": (params) => client.call("setPrice", { body: params }),
        "budgets/get": () => client.call("getBudgets"),
        "budgets/update-team": (params) => client.call("updateTeamBudget", { body: params }),
        "budgets/update-user": ({ userId, changes }) => client.call("updateUserBudget", { params: { userId }, body: changes }),
        "presets/list": () => client.call("listPresets"),
        "preset/create": (params) => client.call("createPreset", { body: params }),
        "preset/update": ({ presetId, ...changes }) => client.call("updatePreset", { params: { presetId }, body: changes }),
        "preset/delete": async ({ presetId }) => {
          await client.call("deletePreset", { params: { presetId } });
          return {};
        },
      },
      // The panel loads its data with requests: its only command, webview/ready, needs nothing here.
      commands: { "webview/ready": () => undefined },
    });
  }

  handleMessage(message: unknown): Promise<void> {
    return this.channel.handleMessage(message);
  }

  /** Tells the panel to load everything again (e.g. another account signed in). */
  invalidate(reason?: string): void {
    this.channel.notify("data/invalidated", { reason });
  }
}

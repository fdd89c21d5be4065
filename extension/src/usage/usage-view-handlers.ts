import type { HostToWebviewEnvelope } from "../../../protocol/webview/envelope";
import { usageCommands, usageNotifications, usageRequests } from "../../../protocol/webview/usage-protocol";
import type { TeamServerClient } from "../server-client/team-server-client";
import { WebviewChannel } from "../webview-channel/webview-channel";

/** Built on first use, not when the bundle loads (see tools/build.mjs, lazy protocol). */
function usageProtocol() {
  return { requests: usageRequests, commands: usageCommands, notifications: usageNotifications };
}

export type UsageHostMessage = HostToWebviewEnvelope<keyof typeof usageNotifications>;

export interface UsageHostActions {
  /** Shows a save dialog and writes the text; the chosen file's name, or undefined when cancelled. */
  saveCsv(suggestedFileName: string, content: string): Promise<string | undefined>;
}

/**
 * The host side of the usage panel: its requests map onto `GET /usage` (and, for admins, the user
 * list), called with the signed-in session; the CSV is written through the host's save dialog.
 */
export class UsageViewHandlers {
  private readonly channel: WebviewChannel<ReturnType<typeof usageProtocol>>;

  constructor(client: TeamServerClient, post: (message: UsageHostMessage) => void, actions: UsageHostActions) {
    this.channel = new WebviewChannel({
      protocol: usageProtocol(),
      post,
      requests: {
        "viewer/get": async () => {
          const user = client.user;
          const isAdmin = user?.role === "admin";
          const users = isAdmin ? (await client.call("listUsers")).users.map((entry) => ({ id: entry.id, name: entry.name })) : [];
          return { userName: user?.name ?? "", isAdmin, users };
        },
        "usage/query": ({ from, to, groupBy, userId }) =>
          client.call("getUsage", { query: { from, to, groupBy: groupBy.join(","), ...(userId ? { userId } : {}) } }),
        "csv/save": async ({ suggestedFileName, content }) => {
          const fileName = await actions.saveCsv(suggestedFileName, content);
          return fileName === undefined ? { saved: false } : { saved: true, fileName };
        },
      },
      commands: { "webview/ready": () => undefined },
    });
  }

  handleMessage(message: unknown): Promise<void> {
    return this.channel.handleMessage(message);
  }

  invalidate(reason?: string): void {
    this.channel.notify("data/invalidated", { reason });
  }
}

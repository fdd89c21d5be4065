import { usageCommands, usageNotifications, usageRequests } from "../../../protocol/webview/usage-protocol";
import { HostBridge } from "../host-bridge/host-bridge";
import { getVsCodeApi } from "../host-bridge/vscode-api";

export const usageProtocol = { requests: usageRequests, commands: usageCommands, notifications: usageNotifications };
export type UsageBridge = HostBridge<typeof usageProtocol>;

export function createUsageBridge(): UsageBridge {
  return new HostBridge(usageProtocol, getVsCodeApi());
}

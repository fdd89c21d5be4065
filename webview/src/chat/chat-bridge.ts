import { chatCommands, chatNotifications, chatRequests } from "../../../protocol/webview/chat-protocol";
import { HostBridge } from "../host-bridge/host-bridge";
import { getVsCodeApi } from "../host-bridge/vscode-api";

export const chatProtocol = { requests: chatRequests, commands: chatCommands, notifications: chatNotifications };
export type ChatBridge = HostBridge<typeof chatProtocol>;

export function createChatBridge(): ChatBridge {
  return new HostBridge(chatProtocol, getVsCodeApi());
}

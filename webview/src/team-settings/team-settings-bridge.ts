import { teamSettingsCommands, teamSettingsNotifications, teamSettingsRequests } from "../../../protocol/webview/team-settings-protocol";
import { HostBridge } from "../host-bridge/host-bridge";
import { getVsCodeApi } from "../host-bridge/vscode-api";

export const teamSettingsProtocol = {
  requests: teamSettingsRequests,
  commands: teamSettingsCommands,
  notifications: teamSettingsNotifications,
};
export type TeamSettingsBridge = HostBridge<typeof teamSettingsProtocol>;

export function createTeamSettingsBridge(): TeamSettingsBridge {
  return new HostBridge(teamSettingsProtocol, getVsCodeApi());
}

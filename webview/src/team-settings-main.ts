import "./host-bridge/zod-without-eval";
import "./styles/team-settings.css";
import { TeamSettingsApp } from "./team-settings/team-settings-app";
import { createTeamSettingsBridge } from "./team-settings/team-settings-bridge";

const root = document.getElementById("app");
if (!root) throw new Error("The Team Settings page has no #app element");
new TeamSettingsApp(root, createTeamSettingsBridge()).start();

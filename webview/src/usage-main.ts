import "./host-bridge/zod-without-eval";
import "./styles/usage.css";
import { UsageApp } from "./usage/usage-app";
import { createUsageBridge } from "./usage/usage-bridge";

const root = document.getElementById("app");
if (!root) throw new Error("The Usage page has no #app element");
new UsageApp(root, createUsageBridge()).start();

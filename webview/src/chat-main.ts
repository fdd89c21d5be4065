import "./host-bridge/zod-without-eval";
import "./styles/chat.css";
import { ChatApp } from "./chat/chat-app";
import { createChatBridge } from "./chat/chat-bridge";

const root = document.getElementById("app");
if (!root) throw new Error("The chat page has no #app element");
new ChatApp(root, createChatBridge()).start();

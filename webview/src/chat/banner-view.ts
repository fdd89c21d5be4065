import "@vscode-elements/elements/dist/vscode-button/index.js";
import type { Banner } from "../../../protocol/webview/chat-protocol";
import { createIcon } from "../create-icon";

const ICONS: Record<Banner["kind"], string> = { error: "error", warning: "warning", info: "info" };

/** A connection problem or notice above the conversation, with the action that fixes it (e.g. "Sign in again"). */
export class BannerView {
  readonly element: HTMLElement;

  constructor(private readonly onAction: (command: NonNullable<Banner["action"]>["command"]) => void) {
    this.element = document.createElement("div");
    this.element.className = "banner-area";
    this.show(null);
  }

  show(banner: Banner | null): void {
    this.element.hidden = banner === null;
    if (!banner) {
      this.element.replaceChildren();
      return;
    }
    const box = document.createElement("div");
    box.className = `banner banner--${banner.kind}`;
    box.setAttribute("role", banner.kind === "info" ? "status" : "alert");
    const message = document.createElement("span");
    message.className = "banner__message";
    message.textContent = banner.message;
    box.append(createIcon(ICONS[banner.kind], "banner__icon"), message);
    if (banner.action) {
      const { label, command } = banner.action;
      const button = document.createElement("vscode-button");
      button.className = "banner__action";
      button.setAttribute("aria-label", label);
      button.textContent = label;
      button.addEventListener("click", () => this.onAction(command));
      box.append(button);
    }
    this.element.replaceChildren(box);
  }
}

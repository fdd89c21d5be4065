import "@vscode-elements/elements/dist/vscode-button/index.js";
import "@vscode-elements/elements/dist/vscode-toolbar-button/index.js";
import type { VscodeButton } from "@vscode-elements/elements/dist/vscode-button/vscode-button.js";

export interface ChatHeaderOptions {
  onPickModel(): void;
  onNewConversation(): void;
}

/** Conversation title, the model the next answer will use (a button that opens VS Code's model picker), and "new conversation". */
export class ChatHeaderView {
  readonly element: HTMLElement;
  private readonly title: HTMLElement;
  private readonly modelButton: VscodeButton;

  constructor(options: ChatHeaderOptions) {
    this.element = document.createElement("header");
    this.element.className = "chat-header";
    this.title = document.createElement("h1");
    this.title.className = "chat-header__title";

    this.modelButton = document.createElement("vscode-button") as VscodeButton;
    this.modelButton.className = "chat-header__model";
    this.modelButton.setAttribute("secondary", "");
    this.modelButton.setAttribute("icon", "hubot");
    this.modelButton.setAttribute("icon-after", "chevron-down");
    this.modelButton.addEventListener("click", () => options.onPickModel());

    const newConversation = document.createElement("vscode-toolbar-button");
    newConversation.className = "chat-header__new";
    newConversation.setAttribute("icon", "add");
    newConversation.setAttribute("label", "New conversation");
    newConversation.title = "New conversation";
    newConversation.addEventListener("click", () => options.onNewConversation());

    this.element.append(this.title, this.modelButton, newConversation);
    this.setTitle(null);
    this.setModel(null);
  }

  setTitle(title: string | null): void {
    const text = title?.trim() || "New conversation";
    this.title.textContent = text;
    this.title.title = text;
  }

  /** The model of the next answer; `hasNoModel`: none is visible yet (the picker then says what to do). */
  setModel(label: string | null, hasNoModel = false): void {
    const text = label ?? (hasNoModel ? "No model" : "Choose a model");
    this.modelButton.textContent = text;
    this.modelButton.setAttribute("aria-label", label ? `Model: ${label}. Choose another model` : text);
    this.modelButton.title = label ? `Answers come from ${label}. Click to switch model.` : text;
  }
}

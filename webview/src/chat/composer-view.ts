import "@vscode-elements/elements/dist/vscode-button/index.js";
import "@vscode-elements/elements/dist/vscode-textarea/index.js";
import type { VscodeButton } from "@vscode-elements/elements/dist/vscode-button/vscode-button.js";
import type { VscodeTextarea } from "@vscode-elements/elements/dist/vscode-textarea/vscode-textarea.js";
import {
  ATTACHMENTS_PER_MESSAGE_MAX,
  IMAGE_MAX_BYTES,
  IMAGE_TOKEN_ESTIMATE,
  imageMediaTypeSchema,
  type AttachmentInput,
} from "../../../protocol/http/attachments";
import { MESSAGE_MAX_CHARACTERS } from "../../../protocol/http/conversations";
import type { ComposerAttachment } from "../../../protocol/webview/chat-protocol";
import { ContextChipsView } from "./context-chips-view";
import { FilePickerView } from "./file-picker-view";
import { createIcon } from "../create-icon";

export interface ComposerOptions {
  /** Sends the text; resolves true when the host accepted it (then the draft is cleared). */
  onSend(text: string, attachments: AttachmentInput[]): Promise<boolean>;
  /** Compare…: sends the text to 2–4 models the host asks for; resolves true when it went (then the draft is cleared). */
  onCompare?(text: string, attachments: AttachmentInput[]): Promise<boolean>;
  /** The `@` picker's files, and a chosen file as a chip (the host reads it). Absent: no `@` picker. */
  findFiles?(query: string): Promise<Array<{ path: string }>>;
  attachFile?(path: string): Promise<ComposerAttachment>;
  /** Says something to screen readers (a chip added or removed). */
  announce?(sentence: string): void;
  onStop(messageId: string): void;
  onDraftChanged(): void;
  /** Up in an empty composer: the text of the reader's last message, to edit and send again (undefined: none). */
  recallLastMessage?(): string | undefined;
}

const MAX_HEIGHT_PX = 240;
const DEFAULT_PLACEHOLDER = "Ask a question or describe a change";

/** The multi-line input at the bottom: Enter sends, Shift+Enter starts a new line, Stop while an answer streams. */
export class ComposerView {
  readonly element: HTMLElement;
  private readonly textarea: VscodeTextarea;
  private readonly sendButton: VscodeButton;
  private readonly stopButton: VscodeButton;
  private readonly compareButton: HTMLButtonElement;
  private readonly chips: ContextChipsView;
  private readonly picker: FilePickerView;
  private readonly errorLine: HTMLElement;
  private streamingMessageId: string | undefined;
  private isSending = false;
  private isAvailable = true;

  constructor(private readonly options: ComposerOptions) {
    this.element = document.createElement("footer");
    this.element.className = "composer";

    this.errorLine = document.createElement("div");
    this.errorLine.className = "composer__error";
    this.errorLine.setAttribute("role", "alert");
    this.errorLine.hidden = true;

    this.chips = new ContextChipsView((sentence) => this.options.announce?.(sentence));
    this.picker = new FilePickerView({
      findFiles: (query) => this.options.findFiles?.(query) ?? Promise.resolve([]),
      onChoose: (path) => void this.chooseFile(path),
    });

    this.textarea = document.createElement("vscode-textarea") as VscodeTextarea;
    this.textarea.className = "composer__input";
    this.textarea.label = "Message";
    this.textarea.placeholder = DEFAULT_PLACEHOLDER;
    this.textarea.resize = "none";
    this.textarea.addEventListener("keydown", (event) => this.onKeyDown(event));
    // an image pasted into the composer becomes a chip (text pastes as usual)
    this.textarea.addEventListener("paste", (event) => {
      const files = [...(event.clipboardData?.files ?? [])].filter((file) => file.type.startsWith("image/"));
      if (files.length === 0) return;
      event.preventDefault();
      for (const file of files) void this.attachImage(file);
    });
    this.textarea.addEventListener("input", () => {
      this.updatePicker();
      this.refresh();
      this.fitHeight();
      this.options.onDraftChanged();
    });

    this.sendButton = document.createElement("vscode-button") as VscodeButton;
    this.sendButton.className = "composer__send";
    this.sendButton.setAttribute("icon", "send");
    this.sendButton.setAttribute("aria-label", "Send message");
    this.sendButton.title = "Send (Enter)";
    this.sendButton.textContent = "Send";
    this.sendButton.addEventListener("click", () => void this.send());

    this.stopButton = document.createElement("vscode-button") as VscodeButton;
    this.stopButton.className = "composer__stop";
    this.stopButton.setAttribute("secondary", "");
    this.stopButton.setAttribute("icon", "debug-stop");
    this.stopButton.setAttribute("aria-label", "Stop generating the answer");
    this.stopButton.textContent = "Stop";
    this.stopButton.hidden = true;
    this.stopButton.addEventListener("click", () => {
      if (this.streamingMessageId) this.options.onStop(this.streamingMessageId);
    });

    this.compareButton = document.createElement("button");
    this.compareButton.type = "button";
    this.compareButton.className = "icon-button composer__compare";
    this.compareButton.setAttribute("aria-label", "Compare models");
    this.compareButton.title = "Compare…: send this to 2–4 models at once and see their answers side by side";
    this.compareButton.append(createIcon("split-horizontal"));
    this.compareButton.hidden = options.onCompare === undefined;
    this.compareButton.addEventListener("click", () => void this.send(true));

    const hint = document.createElement("span");
    hint.className = "composer__hint";
    hint.textContent = "Enter to send · Shift+Enter for a new line · Up for your last message";

    const actions = document.createElement("div");
    actions.className = "composer__actions";
    actions.append(hint, this.compareButton, this.stopButton, this.sendButton);
    this.element.append(this.errorLine, this.picker.element, this.chips.element, this.textarea, actions);
    this.refresh();
  }

  get draft(): string {
    return this.textarea.value ?? "";
  }

  setDraft(text: string): void {
    this.textarea.value = text;
    this.refresh();
    void this.textarea.updateComplete.then(() => this.fitHeight());
  }

  /** Adds text to the draft (e.g. a selection sent from the editor) and puts the cursor in the composer. */
  appendToDraft(text: string): void {
    const current = this.draft;
    const separator = current.length === 0 || current.endsWith("\n") ? "" : "\n\n";
    this.setDraft(current + separator + text);
    this.options.onDraftChanged();
  }

  focus(): void {
    this.textarea.focus();
  }

  /** The id of the answer being generated, or undefined: shows Stop instead of Send. */
  setStreamingMessage(messageId: string | undefined): void {
    this.streamingMessageId = messageId;
    this.refresh();
  }

  /** Whether messages can be sent at all (not when signed out); the placeholder says why not. */
  setAvailability(isAvailable: boolean, placeholder?: string): void {
    this.isAvailable = isAvailable;
    this.textarea.placeholder = placeholder ?? DEFAULT_PLACEHOLDER;
    this.refresh();
  }

  showError(message: string | undefined): void {
    this.errorLine.hidden = message === undefined;
    this.errorLine.replaceChildren(...(message === undefined ? [] : [createIcon("error"), document.createTextNode(message)]));
  }

  /** A context chip from the host (Add File to Chat, Add Selection to Chat). */
  addAttachment(chip: ComposerAttachment): void {
    if (!this.chips.add(chip)) this.showError(`A message carries at most ${ATTACHMENTS_PER_MESSAGE_MAX} files and selections.`);
  }

  private onKeyDown(event: KeyboardEvent): void {
    // A key that confirms an IME composition belongs to the composition.
    if (event.isComposing || event.keyCode === 229) return;
    if (this.picker.handleKey(event)) {
      // the picker's keys are not the composer's (Enter must not send, Escape must not stop an answer)
      event.preventDefault();
      event.stopPropagation();
      this.syncActiveOption();
      return;
    }
    if (event.key === "ArrowUp") {
      this.recallLastMessage(event);
      return;
    }
    if (event.key !== "Enter") return;
    if (event.shiftKey || event.altKey) return; // the textarea inserts the new line itself
    event.preventDefault();
    if (!event.repeat) void this.send();
  }

  /** Like a shell's history: Up in an empty composer brings the last message back, the cursor at its end. */
  private recallLastMessage(event: KeyboardEvent): void {
    if (event.shiftKey || event.altKey || event.ctrlKey || event.metaKey || this.draft.length > 0 || this.isSending) return;
    const text = this.options.recallLastMessage?.();
    if (!text) return;
    event.preventDefault();
    this.setDraft(text);
    this.options.onDraftChanged();
    void this.textarea.updateComplete.then(() => {
      const inner = this.textarea.wrappedElement;
      inner?.setSelectionRange(text.length, text.length);
      inner?.scrollTo({ top: inner.scrollHeight });
    });
  }

  /** A pasted image as a chip: PNG, JPEG, GIF or WebP up to IMAGE_MAX_BYTES; anything else is refused in plain words. */
  private async attachImage(file: File): Promise<void> {
    const mediaType = imageMediaTypeSchema.safeParse(file.type);
    if (!mediaType.success) {
      this.showError(`Only PNG, JPEG, GIF and WebP images can be attached (this one is ${file.type}).`);
      return;
    }
    if (file.size > IMAGE_MAX_BYTES) {
      this.showError(`The image is too large (${Math.round(file.size / 1024)} KB, at most ${Math.round(IMAGE_MAX_BYTES / 1024)} KB).`);
      return;
    }
    const bytes = new Uint8Array(await file.arrayBuffer());
    let binary = "";
    for (let index = 0; index < bytes.length; index += 0x8000) binary += String.fromCharCode(...bytes.subarray(index, index + 0x8000));
    const extension = mediaType.data.slice("image/".length);
    this.addAttachment({
      attachment: {
        kind: "image",
        path: file.name && file.name !== "image.png" ? file.name : `pasted image.${extension}`,
        mediaType: mediaType.data,
        data: btoa(binary),
      },
      tokenEstimate: IMAGE_TOKEN_ESTIMATE,
    });
  }

  /** `@` right before the cursor, at the start of a word: the picker opens, filtered by what follows it. */
  private updatePicker(): void {
    if (!this.options.findFiles) return;
    const inner = this.textarea.wrappedElement;
    const caret = inner?.selectionStart ?? this.draft.length;
    const match = /(?:^|\s)@([^\s@]*)$/.exec(this.draft.slice(0, caret));
    if (match) this.picker.show(match[1] ?? "");
    else this.picker.close();
    this.syncActiveOption();
  }

  private syncActiveOption(): void {
    const inner = this.textarea.wrappedElement;
    if (!inner) return;
    const active = this.picker.activeOptionId;
    inner.setAttribute("aria-expanded", String(this.picker.isOpen));
    inner.setAttribute("aria-controls", this.picker.element.id);
    if (active) inner.setAttribute("aria-activedescendant", active);
    else inner.removeAttribute("aria-activedescendant");
  }

  /** The `@query` typed is replaced by the chip of the chosen file. */
  private async chooseFile(path: string): Promise<void> {
    const inner = this.textarea.wrappedElement;
    const caret = inner?.selectionStart ?? this.draft.length;
    const before = this.draft.slice(0, caret).replace(/@[^\s@]*$/, "");
    this.setDraft(before + this.draft.slice(caret));
    this.options.onDraftChanged();
    this.syncActiveOption();
    this.focus();
    if (!this.options.attachFile) return;
    try {
      this.addAttachment(await this.options.attachFile(path));
    } catch (error) {
      this.showError(error instanceof Error ? error.message : String(error));
    }
  }

  /** `isCompare`: to several models at once (Compare…). */
  private async send(isCompare = false): Promise<void> {
    const text = this.draft;
    if (!this.canSend()) return;
    if (text.length > MESSAGE_MAX_CHARACTERS) {
      this.showError(
        `The message is too long: ${text.length.toLocaleString("en-US")} characters, at most ${MESSAGE_MAX_CHARACTERS.toLocaleString("en-US")}.`,
      );
      return;
    }
    this.showError(undefined);
    this.isSending = true;
    this.refresh();
    try {
      const attachments = this.chips.attachments.map((chip) => chip.attachment);
      const isAccepted =
        isCompare && this.options.onCompare
          ? await this.options.onCompare(text, attachments)
          : await this.options.onSend(text, attachments);
      // Cleared only once the host has the message: on failure the draft stays to retry or fix.
      if (isAccepted && this.draft === text) {
        this.setDraft("");
        this.chips.clear();
        this.options.onDraftChanged();
      }
    } finally {
      this.isSending = false;
      this.refresh();
    }
  }

  private canSend(): boolean {
    return this.isAvailable && !this.isSending && this.streamingMessageId === undefined && this.draft.trim().length > 0;
  }

  private refresh(): void {
    const isStreaming = this.streamingMessageId !== undefined;
    this.stopButton.hidden = !isStreaming;
    this.sendButton.hidden = isStreaming;
    this.sendButton.disabled = !this.canSend();
    this.compareButton.hidden = isStreaming || this.options.onCompare === undefined;
    this.compareButton.disabled = !this.canSend();
    this.textarea.readonly = this.isSending;
    this.element.classList.toggle("composer--sending", this.isSending);
  }

  /** Grows with its text up to a limit, then scrolls. */
  private fitHeight(): void {
    const inner = this.textarea.wrappedElement;
    if (!inner) return;
    this.textarea.style.height = "0px";
    const needed = inner.scrollHeight + 2; // + the 1px borders
    this.textarea.style.height = `${Math.min(Math.max(needed, 0), MAX_HEIGHT_PX)}px`;
  }
}

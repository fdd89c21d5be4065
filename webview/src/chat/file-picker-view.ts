import { createIcon } from "../create-icon";

export interface FilePickerOptions {
  /** Workspace files matching the query, best first (the host asks VS Code). */
  findFiles(query: string): Promise<Array<{ path: string }>>;
  /** A file was chosen. */
  onChoose(path: string): void;
}

/** How long typing settles before the host is asked again. */
const QUERY_DEBOUNCE_MS = 80;

/**
 * The `@` picker above the composer: a listbox of workspace files filtered by what follows the `@`.
 * The focus stays in the composer (a combobox pattern): Up and Down move the active option, Enter or
 * Tab chooses it, Escape closes; the composer's input points at the active option with
 * aria-activedescendant, so a screen reader reads it.
 */
export class FilePickerView {
  readonly element: HTMLElement;
  private files: Array<{ path: string }> = [];
  private activeIndex = 0;
  private query: string | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private requestNumber = 0;

  constructor(private readonly options: FilePickerOptions) {
    this.element = document.createElement("div");
    this.element.className = "file-picker";
    this.element.id = "juggler-file-picker";
    this.element.setAttribute("role", "listbox");
    this.element.setAttribute("aria-label", "Workspace files");
    this.element.hidden = true;
  }

  get isOpen(): boolean {
    return !this.element.hidden;
  }

  /** The id of the active option, for aria-activedescendant (undefined: none). */
  get activeOptionId(): string | undefined {
    return this.isOpen && this.files.length > 0 ? `juggler-file-option-${this.activeIndex}` : undefined;
  }

  show(query: string): void {
    if (this.query === query && this.isOpen) return;
    this.query = query;
    this.element.hidden = false;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.load(query), QUERY_DEBOUNCE_MS);
  }

  close(): void {
    clearTimeout(this.timer);
    this.query = undefined;
    this.element.hidden = true;
    this.files = [];
    this.element.replaceChildren();
  }

  /** Keys while open; true when the key was the picker's. */
  handleKey(event: KeyboardEvent): boolean {
    if (!this.isOpen) return false;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (this.files.length > 0) {
        this.activeIndex = (this.activeIndex + (event.key === "ArrowDown" ? 1 : -1) + this.files.length) % this.files.length;
        this.render();
      }
      return true;
    }
    if (event.key === "Enter" || event.key === "Tab") {
      const file = this.files[this.activeIndex];
      if (!file) return event.key === "Enter";
      this.options.onChoose(file.path);
      this.close();
      return true;
    }
    if (event.key === "Escape") {
      this.close();
      return true;
    }
    return false;
  }

  private async load(query: string): Promise<void> {
    const number = ++this.requestNumber;
    let files: Array<{ path: string }>;
    try {
      files = await this.options.findFiles(query);
    } catch {
      files = [];
    }
    // an older answer arriving after a newer one is dropped
    if (number !== this.requestNumber || this.query !== query) return;
    this.files = files;
    this.activeIndex = 0;
    this.render();
  }

  private render(): void {
    if (this.files.length === 0) {
      const empty = document.createElement("div");
      empty.className = "file-picker__empty";
      empty.textContent = this.query ? `No workspace file matches “${this.query}”` : "No workspace files";
      this.element.replaceChildren(empty);
      return;
    }
    this.element.replaceChildren(
      ...this.files.map((file, index) => {
        const option = document.createElement("div");
        option.className = "file-picker__option";
        option.id = `juggler-file-option-${index}`;
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", String(index === this.activeIndex));
        const name = file.path.split("/").at(-1) ?? file.path;
        const folder = file.path.slice(0, file.path.length - name.length).replace(/\/$/, "");
        const nameElement = document.createElement("span");
        nameElement.className = "file-picker__name";
        nameElement.textContent = name;
        const folderElement = document.createElement("span");
        folderElement.className = "file-picker__folder";
        folderElement.textContent = folder;
        option.append(createIcon("file"), nameElement, folderElement);
        // mousedown, not click: the composer keeps the focus
        option.addEventListener("mousedown", (event) => {
          event.preventDefault();
          this.options.onChoose(file.path);
          this.close();
        });
        return option;
      }),
    );
    this.element.querySelector(`#juggler-file-option-${this.activeIndex}`)?.scrollIntoView({ block: "nearest" });
  }
}

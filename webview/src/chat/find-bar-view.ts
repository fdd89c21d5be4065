import type { Message } from "../../../protocol/http/conversations";
import type { FindInConversationResponse } from "../../../protocol/http/search";
import { countOccurrences, occurrencePattern } from "../../../protocol/text-occurrences";
import { createIcon } from "../create-icon";

/** What the find bar needs from the chat: the messages it has, the server's answer for the rest, and the list. */
export interface FindBarHost {
  conversationId(): string | null;
  /** The loaded messages, oldest first, with their place on the branch (root = 1). */
  loadedMessages(): Array<{ message: Message; position: number }>;
  /** How many messages of the branch are above the loaded ones. */
  unloadedCount(): number;
  /** Where the text occurs on the whole branch (the host asks the server). */
  findInBranch(conversationId: string, query: string): Promise<FindInConversationResponse>;
  /** Scrolls to a message, loading older pages until it is there; its element once rendered. */
  revealMessage(messageId: string): Promise<HTMLElement | undefined>;
  /** The rendered text of a message, if it is rendered now. */
  renderedBody(messageId: string): HTMLElement | undefined;
  /** The list that scrolls (a match is brought into its view). */
  scroller(): HTMLElement;
  /** Where focus goes back to when the bar closes. */
  focusList(): void;
}

/** One occurrence: the message it is in (by place on the branch) and which occurrence of that message. */
interface Match {
  messageId: string;
  position: number;
  occurrence: number;
}

/** A pause in typing before the text is looked for. */
const FIND_DEBOUNCE_MS = 150;
/** CSS Custom Highlight names (styled in find-bar.css). */
const MATCH_HIGHLIGHT = "juggler-find-match";
const CURRENT_HIGHLIGHT = "juggler-find-current";

/**
 * Find in the open conversation, like an editor's find widget: a text box, "3 of 17", previous and
 * next (Enter, Shift+Enter; F3, Shift+F3), Escape to close. It looks in the messages the view has
 * loaded itself, as they change, and asks the server (through the host) where the text occurs in the
 * rest of the branch: the messages above the loaded pages count too, and going to one of them loads
 * older pages until it is there. Matches are marked with the CSS Custom Highlight API, so the
 * rendered messages are not touched (the list re-renders and recycles them freely); the rule for a
 * match is the server's (protocol/text-occurrences.ts), so both count alike.
 */
export class FindBarView {
  readonly element: HTMLElement;
  private readonly input: HTMLInputElement;
  private readonly count: HTMLElement;
  private readonly previousButton: HTMLButtonElement;
  private readonly nextButton: HTMLButtonElement;
  private matches: Match[] = [];
  /** The server's matches of the current query, above the loaded messages (refreshed as pages load). */
  private branchMatches: FindInConversationResponse | undefined;
  private currentIndex = -1;
  private query = "";
  private searchTimer: ReturnType<typeof setTimeout> | undefined;
  private generation = 0;
  private isHighlightPending = false;

  constructor(private readonly host: FindBarHost) {
    this.element = document.createElement("div");
    this.element.className = "find-bar";
    this.element.setAttribute("role", "search");
    this.element.setAttribute("aria-label", "Find in conversation");
    this.element.hidden = true;

    this.input = document.createElement("input");
    this.input.type = "text";
    this.input.className = "find-bar__input";
    this.input.placeholder = "Find";
    this.input.setAttribute("aria-label", "Find in conversation");
    this.input.spellcheck = false;
    this.input.addEventListener("input", () => this.scheduleSearch());
    this.input.addEventListener("keydown", (event) => this.onKeyDown(event));

    this.count = document.createElement("span");
    this.count.className = "find-bar__count";
    // announced as it changes: how many matches, and which one is shown
    this.count.setAttribute("role", "status");
    this.count.setAttribute("aria-live", "polite");

    this.previousButton = iconButton("arrow-up", "Previous Match (Shift+Enter)", () => this.move(-1));
    this.nextButton = iconButton("arrow-down", "Next Match (Enter)", () => this.move(1));
    const close = iconButton("close", "Close (Escape)", () => this.close());
    this.element.append(this.input, this.count, this.previousButton, this.nextButton, close);
    this.element.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        this.close();
      } else if (event.key === "F3") {
        event.preventDefault();
        this.move(event.shiftKey ? -1 : 1);
      }
    });
    this.renderCount();
  }

  get isOpen(): boolean {
    return !this.element.hidden;
  }

  /** Shows the bar with its text selected (what Ctrl/Cmd+F does in an editor), and finds it again. */
  open(): void {
    const wasOpen = this.isOpen;
    this.element.hidden = false;
    this.input.focus();
    this.input.select();
    if (!wasOpen && this.input.value !== "") this.search();
  }

  close(): void {
    if (!this.isOpen) return;
    this.element.hidden = true;
    this.generation++;
    clearTimeout(this.searchTimer);
    this.clearHighlights();
    this.host.focusList();
  }

  /** The loaded messages changed (a snapshot, a new message, an older page, streamed text): count again. */
  messagesChanged(): void {
    if (!this.isOpen || this.query === "") return;
    this.recount();
  }

  /** Another conversation (or branch) is shown: what the server said no longer applies. */
  conversationChanged(): void {
    if (!this.isOpen || this.query === "") return;
    this.search();
  }

  /** The list rendered messages (scrolling, a page): mark the matches in what is on screen now. */
  listRendered(): void {
    if (!this.isOpen || this.matches.length === 0 || this.isHighlightPending) return;
    // at most once a frame, however often the list renders
    this.isHighlightPending = true;
    requestAnimationFrame(() => {
      this.isHighlightPending = false;
      // closed meanwhile (Escape right after a scroll): the marks went with the bar and stay gone
      if (this.isOpen) this.highlight();
    });
  }

  private scheduleSearch(): void {
    clearTimeout(this.searchTimer);
    this.searchTimer = setTimeout(() => this.search(), FIND_DEBOUNCE_MS);
  }

  /** Counts the loaded messages now, and asks the server for the rest of the branch. */
  private search(): void {
    clearTimeout(this.searchTimer);
    const generation = ++this.generation;
    this.query = this.input.value;
    this.branchMatches = undefined;
    this.currentIndex = -1;
    this.recount();
    const conversationId = this.host.conversationId();
    if (this.query === "" || conversationId === null || this.host.unloadedCount() === 0) return;
    this.host.findInBranch(conversationId, this.query).then(
      (found) => {
        if (generation !== this.generation) return;
        this.branchMatches = found;
        this.recount();
      },
      () => {
        // the loaded messages still count; the rest is simply not known (e.g. offline)
        if (generation !== this.generation) return;
        this.count.title = "Only the loaded messages were searched: the server could not be asked";
      },
    );
  }

  /** The matches of the query: the server's in the messages above the loaded ones, then the loaded messages' own. */
  private recount(): void {
    const previous = this.matches[this.currentIndex];
    const matches: Match[] = [];
    if (this.query !== "") {
      const firstLoaded = this.host.unloadedCount() + 1;
      for (const found of this.branchMatches?.matches ?? []) {
        if (found.depth >= firstLoaded) break;
        for (let occurrence = 0; occurrence < found.count; occurrence++)
          matches.push({ messageId: found.messageId, position: found.depth, occurrence });
      }
      for (const { message, position } of this.host.loadedMessages()) {
        const count = countOccurrences(message.content, this.query);
        for (let occurrence = 0; occurrence < count; occurrence++) matches.push({ messageId: message.id, position, occurrence });
      }
    }
    this.matches = matches;
    if (previous) {
      this.currentIndex = matches.findIndex((match) => match.messageId === previous.messageId && match.occurrence === previous.occurrence);
    }
    if (this.currentIndex === -1 && matches.length > 0) {
      // like an editor: the first match from where the reader is (the newest when none is below)
      const anchor = this.readerPosition();
      const after = matches.findIndex((match) => match.position >= anchor);
      this.currentIndex = after === -1 ? matches.length - 1 : after;
      this.renderCount();
      void this.goToCurrent();
      return;
    }
    this.renderCount();
    this.highlight();
  }

  private move(step: number): void {
    if (this.matches.length === 0) return;
    this.currentIndex = (this.currentIndex + step + this.matches.length) % this.matches.length;
    this.renderCount();
    void this.goToCurrent();
  }

  private async goToCurrent(): Promise<void> {
    const match = this.matches[this.currentIndex];
    if (!match) return;
    const generation = this.generation;
    const element = await this.host.revealMessage(match.messageId);
    if (generation !== this.generation || this.matches[this.currentIndex] !== match || !element) return;
    this.highlight();
    const current = this.currentRange();
    if (current) this.scrollIntoView(current.getBoundingClientRect());
  }

  private renderCount(): void {
    const total = this.matches.length;
    const isPartial = this.query !== "" && this.host.unloadedCount() > 0 && this.branchMatches === undefined;
    const truncated = this.branchMatches?.isTruncated ? "+" : "";
    this.count.textContent =
      this.query === "" ? "" : total === 0 ? (isPartial ? "Searching…" : "No results") : `${this.currentIndex + 1} of ${total}${truncated}`;
    this.count.title = "";
    this.element.classList.toggle("find-bar--no-results", this.query !== "" && total === 0 && !isPartial);
    this.previousButton.disabled = total === 0;
    this.nextButton.disabled = total === 0;
  }

  /** Marks every match in the rendered messages, the current one apart. */
  private highlight(): void {
    const registry = highlightRegistry();
    if (!registry) return;
    const all: Range[] = [];
    const current: Range[] = [];
    const currentMatch = this.matches[this.currentIndex];
    const seen = new Set<string>();
    for (const match of this.matches) {
      if (seen.has(match.messageId)) continue;
      seen.add(match.messageId);
      const body = this.host.renderedBody(match.messageId);
      if (!body) continue;
      const ranges = rangesOf(body, this.query);
      all.push(...ranges);
      if (currentMatch?.messageId === match.messageId) {
        // the text as rendered can have fewer occurrences than as written (markdown syntax): the last one then
        const range = ranges[Math.min(currentMatch.occurrence, ranges.length - 1)];
        if (range) current.push(range);
      }
    }
    registry.set(MATCH_HIGHLIGHT, new Highlight(...all));
    registry.set(CURRENT_HIGHLIGHT, new Highlight(...current));
  }

  private currentRange(): Range | undefined {
    const match = this.matches[this.currentIndex];
    const body = match ? this.host.renderedBody(match.messageId) : undefined;
    if (!match || !body) return undefined;
    const ranges = rangesOf(body, this.query);
    return ranges[Math.min(match.occurrence, ranges.length - 1)];
  }

  private clearHighlights(): void {
    const registry = highlightRegistry();
    registry?.delete(MATCH_HIGHLIGHT);
    registry?.delete(CURRENT_HIGHLIGHT);
  }

  /** Scrolls the list so that a match's box is well inside it. */
  private scrollIntoView(box: DOMRect): void {
    const scroller = this.host.scroller();
    const view = scroller.getBoundingClientRect();
    const margin = Math.min(80, view.height / 4);
    if (box.top >= view.top + margin && box.bottom <= view.bottom - margin) return;
    scroller.scrollTop += box.top - view.top - view.height / 3;
  }

  /** The place on the branch of the first message at the top of the list's viewport. */
  private readerPosition(): number {
    const scroller = this.host.scroller();
    const top = scroller.getBoundingClientRect().top;
    for (const element of Array.from(scroller.querySelectorAll<HTMLElement>("article.message"))) {
      if (element.getBoundingClientRect().bottom > top) return Number(element.getAttribute("aria-posinset")) || 0;
    }
    return 0;
  }

  private onKeyDown(event: KeyboardEvent): void {
    if (event.key !== "Enter" || event.isComposing) return;
    event.preventDefault();
    // the text typed so far, right away, before moving (Enter during the pause after typing)
    if (this.input.value !== this.query) {
      this.search();
      return;
    }
    this.move(event.shiftKey ? -1 : 1);
  }
}

/** Ranges of every occurrence of `query` in an element's text (text nodes joined, as the reader sees them). */
function rangesOf(root: HTMLElement, query: string): Range[] {
  const nodes: Text[] = [];
  const starts: number[] = [];
  let text = "";
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node !== null; node = walker.nextNode()) {
    nodes.push(node as Text);
    starts.push(text.length);
    text += node.nodeValue ?? "";
  }
  const ranges: Range[] = [];
  for (const match of text.matchAll(occurrencePattern(query))) {
    const start = locate(nodes, starts, match.index);
    const end = locate(nodes, starts, match.index + match[0].length);
    if (!start || !end) continue;
    const range = document.createRange();
    range.setStart(start.node, start.offset);
    range.setEnd(end.node, end.offset);
    ranges.push(range);
  }
  return ranges;
}

/** The text node and offset of a position in the joined text (the end of a node for a position at a boundary). */
function locate(nodes: Text[], starts: number[], position: number): { node: Text; offset: number } | undefined {
  let low = 0;
  let high = nodes.length - 1;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    if (starts[middle]! <= position) low = middle;
    else high = middle - 1;
  }
  const node = nodes[low];
  if (!node) return undefined;
  return { node, offset: Math.min(position - starts[low]!, node.length) };
}

/** The page's CSS highlight registry, where the browser has one (Chromium 105+, which every supported VS Code has). */
function highlightRegistry(): HighlightRegistry | undefined {
  return typeof CSS !== "undefined" && "highlights" in CSS ? CSS.highlights : undefined;
}

function iconButton(icon: string, label: string, onClick: () => void): HTMLButtonElement {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "icon-button find-bar__button";
  button.title = label;
  button.setAttribute("aria-label", label);
  button.append(createIcon(icon));
  button.addEventListener("click", onClick);
  return button;
}

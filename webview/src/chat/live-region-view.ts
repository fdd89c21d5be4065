/** How much of an answer's text is read out with "finished": enough to recognise it, not the whole answer. */
const TEXT_START_CHARACTERS = 120;

/**
 * The chat's one polite live region: a screen reader hears "Answer from Claude Sonnet 4.5 finished:
 * <the start of its text>" once, when an answer ends, and nothing per token while it streams. It
 * lives outside the message list on purpose: the list is virtualised, so a message's element is
 * created and destroyed as the reader scrolls, and a region inside one would come and go with it.
 */
export class LiveRegionView {
  readonly element: HTMLElement;
  private readonly announced = new Set<string>();
  private clearTimer: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    this.element = document.createElement("div");
    this.element.className = "live-region visually-hidden";
    this.element.setAttribute("role", "status");
    this.element.setAttribute("aria-live", "polite");
    this.element.setAttribute("aria-atomic", "true");
  }

  /** Says once that the answer `messageId` ended; a second call for the same answer says nothing. */
  announceAnswerEnd(messageId: string, sentence: string, text: string): void {
    if (this.announced.has(messageId)) return;
    this.announced.add(messageId);
    const start = startOf(text);
    this.announce(start ? `${sentence}: ${start}` : sentence);
  }

  /** Says a short sentence (e.g. which branch is now in view after the sibling navigator was used). */
  announce(sentence: string): void {
    this.element.textContent = sentence;
    // Emptied again later, so that a reader who walks the page later does not find a stale status.
    clearTimeout(this.clearTimer);
    this.clearTimer = setTimeout(() => (this.element.textContent = ""), 10_000);
  }
}

/** The first words of an answer as plain text: Markdown marks and code fences are noise when read aloud. */
function startOf(text: string): string {
  const plain = text
    .replace(/```[^\n]*\n?/g, " ")
    .replace(/[*`#>]+/g, "")
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/\s+/g, " ")
    .trim();
  if (plain.length <= TEXT_START_CHARACTERS) return plain;
  const cut = plain.slice(0, TEXT_START_CHARACTERS);
  const lastSpace = cut.lastIndexOf(" ");
  return `${(lastSpace > TEXT_START_CHARACTERS / 2 ? cut.slice(0, lastSpace) : cut).trimEnd()}…`;
}

import { highlightToHtml } from "./code-highlighter";

export type CodeBlockAction = "copy" | "insert" | "open";

export interface CodeBlockSource {
  code: string;
  language: string | undefined;
}

const ACTIONS: ReadonlyArray<{ action: CodeBlockAction; icon: string; label: string; title: string }> = [
  { action: "copy", icon: "copy", label: "Copy code", title: "Copy" },
  { action: "insert", icon: "insert", label: "Insert code at cursor", title: "Insert at Cursor" },
  { action: "open", icon: "go-to-file", label: "Open code in new editor", title: "Open in New Editor" },
];

/** The code and language behind each block element: kept off the DOM so nothing can be smuggled through attributes. */
const sources = new WeakMap<Element, CodeBlockSource>();

export function getCodeBlockSource(blockElement: Element): CodeBlockSource | undefined {
  return sources.get(blockElement);
}

/**
 * A fenced code block: a toolbar (language, Copy, Insert at Cursor, Open in New Editor) above the
 * highlighted code. The toolbar buttons are plain <button>s with a codicon rather than
 * vscode-toolbar-button: a long conversation holds hundreds of code blocks, and three shadow roots
 * (each with its own icon shadow root) per block made rendering 1,000 messages several times slower.
 */
export function createCodeBlock(code: string, language: string | undefined): HTMLElement {
  const block = document.createElement("div");
  block.className = "code-block";
  if (language) block.dataset.language = language;
  sources.set(block, { code, language });

  const toolbar = document.createElement("div");
  toolbar.className = "code-block__toolbar";
  const languageLabel = document.createElement("span");
  languageLabel.className = "code-block__language";
  languageLabel.textContent = language ?? "text";
  toolbar.append(languageLabel);
  const actions = document.createElement("div");
  actions.className = "code-block__actions";
  for (const { action, icon, label, title } of ACTIONS) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "icon-button code-block__action";
    button.dataset.codeAction = action;
    button.setAttribute("aria-label", language ? `${label} (${language})` : label);
    button.title = title;
    const iconElement = document.createElement("span");
    iconElement.className = `codicon codicon-${icon}`;
    iconElement.setAttribute("aria-hidden", "true");
    button.append(iconElement);
    actions.append(button);
  }
  toolbar.append(actions);

  const pre = document.createElement("pre");
  pre.className = "code-block__pre";
  pre.tabIndex = 0; // a wide block scrolls sideways: let keyboard users reach it
  const codeElement = document.createElement("code");
  codeElement.className = language ? `hljs language-${language}` : "hljs";
  const highlighted = highlightToHtml(code, language);
  if (highlighted === undefined) codeElement.textContent = code;
  else appendHighlightedHtml(codeElement, highlighted);
  pre.append(codeElement);
  block.append(toolbar, pre);
  return block;
}

/** A class highlight.js puts on its spans ("hljs-keyword", or sub-scopes like "function_"). */
const HIGHLIGHT_CLASS = /^(hljs-[a-z0-9_-]+|[a-z0-9]+_+)$/i;

/**
 * highlight.js returns HTML (escaped text in <span class="hljs-…">). It is parsed in an inert
 * template and rebuilt keeping only spans and their highlight classes, so even a grammar bug cannot
 * put markup from the model into the page.
 */
function appendHighlightedHtml(target: HTMLElement, html: string): void {
  const template = document.createElement("template");
  template.innerHTML = html;
  copyHighlightNodes(template.content, target);
}

function copyHighlightNodes(source: Node, target: Node): void {
  for (const child of Array.from(source.childNodes)) {
    if (child.nodeType === Node.TEXT_NODE) {
      target.appendChild(document.createTextNode(child.textContent ?? ""));
    } else if (child instanceof Element) {
      if (child.localName === "span") {
        const span = document.createElement("span");
        const classes = (child.getAttribute("class") ?? "").split(/\s+/).filter((name) => HIGHLIGHT_CLASS.test(name));
        if (classes.length > 0) span.className = classes.join(" ");
        copyHighlightNodes(child, span);
        target.appendChild(span);
      } else {
        copyHighlightNodes(child, target);
      }
    }
  }
}

export function codeBlockActionFromElement(element: Element): CodeBlockAction | undefined {
  const action = element.getAttribute("data-code-action");
  return action === "copy" || action === "insert" || action === "open" ? action : undefined;
}

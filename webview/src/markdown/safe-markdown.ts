import MarkdownIt from "markdown-it";
import { createCodeBlock } from "./code-block-view";
import { languageFromFenceInfo } from "./code-highlighter";
import { toSafeHref } from "./link-policy";

/**
 * Model output is untrusted. markdown-it runs with raw HTML disabled, so `<script>` in an answer is
 * text; then its HTML is parsed in an inert <template> (nothing loads or runs there) and rebuilt
 * element by element from an allow-list: only the tags below, only the attributes handled below,
 * links only to http/https (what the host opens), no images, no style, no event handlers. Even if
 * markdown-it ever emitted something unexpected, nothing outside the allow-list reaches the page.
 */
const markdownIt = new MarkdownIt({ html: false, linkify: true, typographer: false, breaks: false });
// Fuzzy links would turn file names into links ("main.py", "README.md", "build.sh" are .py/.md/.sh
// domains); only addresses with a scheme (https://…) are linked. E-mail addresses stay text: the
// host opens http(s) links only (protocol/parse-http-url.ts).
markdownIt.linkify.set({ fuzzyLink: false, fuzzyEmail: false });

/** Elements copied as they are (their children are sanitised in turn). */
const PLAIN_TAGS = new Set([
  "p",
  "br",
  "hr",
  "h1",
  "h2",
  "h3",
  "h4",
  "h5",
  "h6",
  "blockquote",
  "ul",
  "li",
  "em",
  "strong",
  "s",
  "del",
  "code",
  "thead",
  "tbody",
  "tr",
]);

/** Dropped with everything inside. markdown-it with html:false never emits them; this is belt and braces. */
const DROPPED_TAGS = new Set([
  "script",
  "style",
  "iframe",
  "frame",
  "frameset",
  "object",
  "embed",
  "applet",
  "template",
  "noscript",
  "svg",
  "math",
  "form",
  "input",
  "button",
  "textarea",
  "select",
  "option",
  "link",
  "meta",
  "base",
  "audio",
  "video",
  "source",
  "track",
  "canvas",
  "portal",
]);

export function renderMarkdownToHtml(source: string): string {
  return markdownIt.render(source);
}

/** Renders markdown into new, safe DOM nodes. */
export function renderMarkdown(source: string): DocumentFragment {
  const template = document.createElement("template");
  template.innerHTML = renderMarkdownToHtml(source);
  const fragment = document.createDocumentFragment();
  sanitizeChildren(template.content, fragment);
  return fragment;
}

/**
 * Renders markdown into `container`, touching only the top-level blocks that changed. While an
 * answer streams, the earlier paragraphs and code blocks stay the same nodes: no flicker, and a
 * selection or focus inside them survives.
 */
export function renderMarkdownInto(container: Element, source: string): void {
  const next = Array.from(renderMarkdown(source).childNodes);
  const current = Array.from(container.childNodes);
  let firstDifference = 0;
  while (
    firstDifference < next.length &&
    firstDifference < current.length &&
    current[firstDifference]!.isEqualNode(next[firstDifference]!)
  ) {
    firstDifference++;
  }
  for (const stale of current.slice(firstDifference)) stale.remove();
  container.append(...next.slice(firstDifference));
}

function sanitizeChildren(source: Node, target: Node): void {
  for (const child of Array.from(source.childNodes)) {
    const safe = sanitizeNode(child);
    if (safe) target.appendChild(safe);
  }
}

function sanitizeNode(node: Node): Node | undefined {
  if (node.nodeType === Node.TEXT_NODE) return document.createTextNode(node.textContent ?? "");
  if (!(node instanceof Element)) return undefined; // comments, processing instructions
  const tag = node.localName;
  if (DROPPED_TAGS.has(tag)) return undefined;
  if (PLAIN_TAGS.has(tag)) {
    const element = document.createElement(tag);
    sanitizeChildren(node, element);
    return element;
  }
  switch (tag) {
    case "pre":
      return sanitizePre(node);
    case "a":
      return sanitizeLink(node);
    case "img":
      return sanitizeImage(node);
    case "ol": {
      const list = document.createElement("ol");
      const start = Number.parseInt(node.getAttribute("start") ?? "", 10);
      if (Number.isSafeInteger(start) && start !== 1) list.start = start;
      sanitizeChildren(node, list);
      return list;
    }
    case "table": {
      // Wide tables scroll inside their own box instead of widening the whole view.
      const wrapper = document.createElement("div");
      wrapper.className = "markdown-table";
      const table = document.createElement("table");
      sanitizeChildren(node, table);
      wrapper.append(table);
      return wrapper;
    }
    case "th":
    case "td": {
      const cell = document.createElement(tag);
      // markdown-it aligns columns with a style attribute, which the CSP forbids: use a class instead.
      const alignment = /text-align:\s*(left|center|right)/.exec(node.getAttribute("style") ?? "")?.[1];
      if (alignment) cell.className = `align-${alignment}`;
      sanitizeChildren(node, cell);
      return cell;
    }
    default: {
      // An unknown element: keep its text, not the element.
      const fragment = document.createDocumentFragment();
      sanitizeChildren(node, fragment);
      return fragment;
    }
  }
}

function sanitizePre(pre: Element): Node {
  const codeElement = pre.firstElementChild?.localName === "code" ? pre.firstElementChild : undefined;
  const languageClass = Array.from(codeElement?.classList ?? []).find((name) => name.startsWith("language-"));
  const language = languageFromFenceInfo(languageClass?.slice("language-".length));
  // markdown-it ends fenced code with a newline; the code itself (what Copy gives) does not have it.
  const code = (pre.textContent ?? "").replace(/\n$/, "");
  return createCodeBlock(code, language);
}

function sanitizeLink(anchor: Element): Node {
  const href = toSafeHref(anchor.getAttribute("href"));
  if (!href) {
    const fragment = document.createDocumentFragment();
    sanitizeChildren(anchor, fragment);
    return fragment;
  }
  const link = document.createElement("a");
  link.href = href;
  link.className = "markdown-link";
  // Show where a link goes: its text may say something else.
  link.title = href;
  sanitizeChildren(anchor, link);
  return link;
}

/**
 * Images are never loaded (the CSP blocks them too, and a remote image would tell a third party
 * that someone read the answer). An image with a safe URL becomes a link the user can choose to open.
 */
function sanitizeImage(image: Element): Node {
  const alt = image.getAttribute("alt")?.trim() ?? "";
  const href = toSafeHref(image.getAttribute("src"));
  const label = `Image: ${alt || "untitled"}`;
  if (!href) return document.createTextNode(`[${label}]`);
  const link = document.createElement("a");
  link.href = href;
  link.className = "markdown-link markdown-image-link";
  link.title = href;
  link.textContent = label;
  return link;
}

import highlighter from "highlight.js/lib/core";
import bash from "highlight.js/lib/languages/bash";
import c from "highlight.js/lib/languages/c";
import cpp from "highlight.js/lib/languages/cpp";
import css from "highlight.js/lib/languages/css";
import diff from "highlight.js/lib/languages/diff";
import go from "highlight.js/lib/languages/go";
import java from "highlight.js/lib/languages/java";
import javascript from "highlight.js/lib/languages/javascript";
import json from "highlight.js/lib/languages/json";
import markdown from "highlight.js/lib/languages/markdown";
import python from "highlight.js/lib/languages/python";
import rust from "highlight.js/lib/languages/rust";
import shell from "highlight.js/lib/languages/shell";
import sql from "highlight.js/lib/languages/sql";
import typescript from "highlight.js/lib/languages/typescript";
import xml from "highlight.js/lib/languages/xml";
import yaml from "highlight.js/lib/languages/yaml";

// Only the core and a handful of languages: the full highlight.js is ~1 MB, this is a tenth of it.
const languages = { bash, c, cpp, css, diff, go, java, javascript, json, markdown, python, rust, shell, sql, typescript, xml, yaml };
for (const [name, definition] of Object.entries(languages)) highlighter.registerLanguage(name, definition);
// Names models commonly put on fences that the grammars above do not already claim.
highlighter.registerAliases(["sh", "zsh", "console-bash"], { languageName: "bash" });
highlighter.registerAliases(["terminal", "console"], { languageName: "shell" });
highlighter.registerAliases(["tsx", "mts", "cts"], { languageName: "typescript" });
highlighter.registerAliases(["mjs", "cjs"], { languageName: "javascript" });
highlighter.registerAliases(["jsonc", "json5"], { languageName: "json" });
highlighter.registerAliases(["golang"], { languageName: "go" });
highlighter.registerAliases(["postgresql", "postgres", "sqlite", "mysql"], { languageName: "sql" });
highlighter.registerAliases(["patch"], { languageName: "diff" });

/** The fence's language word as the model wrote it ("```ts title" → "ts"), or undefined. */
export function languageFromFenceInfo(info: string | undefined | null): string | undefined {
  const word = info?.trim().split(/\s+/, 1)[0]?.toLowerCase();
  if (!word || word.length > 64 || !/^[\w+#.-]+$/.test(word)) return undefined;
  return word;
}

export function isHighlightable(language: string | undefined): boolean {
  return language !== undefined && highlighter.getLanguage(language) !== undefined;
}

const CACHE_LIMIT = 300;
const highlightCache = new Map<string, string>();

/**
 * highlight.js's HTML for the code: text escaped, tokens wrapped in `<span class="hljs-…">`.
 * Memoised because a streaming answer re-renders every frame and its earlier, finished code blocks
 * do not change. Returns undefined for languages without a registered grammar (shown plain).
 */
export function highlightToHtml(code: string, language: string | undefined): string | undefined {
  if (!language || !isHighlightable(language)) return undefined;
  const key = `${language}\u0000${code}`;
  const cached = highlightCache.get(key);
  if (cached !== undefined) {
    // Re-insert so the Map's insertion order tracks recency.
    highlightCache.delete(key);
    highlightCache.set(key, cached);
    return cached;
  }
  let html: string;
  try {
    html = highlighter.highlight(code, { language, ignoreIllegals: true }).value;
  } catch {
    return undefined;
  }
  highlightCache.set(key, html);
  if (highlightCache.size > CACHE_LIMIT) {
    const oldestKey = highlightCache.keys().next().value;
    if (oldestKey !== undefined) highlightCache.delete(oldestKey);
  }
  return html;
}

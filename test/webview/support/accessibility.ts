import type { Page } from "playwright-core";

/** Roles a person operates: each must have an accessible name for a screen reader to say what it does. */
const INTERACTIVE_ROLES = new Set(["button", "checkbox", "radio", "switch", "textbox", "link", "combobox", "menuitem", "tab"]);

/**
 * Interactive nodes without an accessible name, as Chromium's accessibility tree computes it
 * (so shadow DOM, aria-label, label elements and text content all count as they would for a
 * screen reader). Returns descriptions of the offenders; an empty array is the goal.
 */
export async function findUnnamedControls(page: Page): Promise<string[]> {
  const session = await page.context().newCDPSession(page);
  try {
    const { nodes } = (await session.send("Accessibility.getFullAXTree")) as {
      nodes: Array<{ ignored: boolean; role?: { value?: string }; name?: { value?: string }; backendDOMNodeId?: number }>;
    };
    const offenders: string[] = [];
    for (const node of nodes) {
      const role = node.role?.value ?? "";
      if (node.ignored || !INTERACTIVE_ROLES.has(role)) continue;
      if ((node.name?.value ?? "").trim().length > 0) continue;
      let html = "";
      if (node.backendDOMNodeId !== undefined) {
        const { outerHTML } = (await session.send("DOM.getOuterHTML", { backendNodeId: node.backendDOMNodeId })) as { outerHTML: string };
        html = outerHTML.slice(0, 200);
      }
      offenders.push(`${role}: ${html}`);
    }
    return offenders;
  } finally {
    await session.detach();
  }
}

/**
 * Buttons found in the DOM (light and shadow) with neither an aria-label, a label nor text:
 * the plain DOM view of the same rule, independent of Chromium's name computation.
 * (Passed as source text: the test runner's compiler would wrap named inner functions in a helper
 * that does not exist in the page.)
 */
export function findButtonsWithoutLabel(page: Page): Promise<string[]> {
  return page.evaluate(`(() => {
    const offenders = [];
    const visit = (root) => {
      for (const element of Array.from(root.querySelectorAll("*"))) {
        if (element.shadowRoot) visit(element.shadowRoot);
        const isButton =
          element.localName === "button" ||
          element.localName === "vscode-button" ||
          element.localName === "vscode-toolbar-button" ||
          element.getAttribute("role") === "button";
        if (!isButton) continue;
        const name = element.getAttribute("aria-label") || element.getAttribute("label") || element.textContent || "";
        if (name.trim().length === 0) offenders.push(element.outerHTML.slice(0, 200));
      }
    };
    visit(document);
    return offenders;
  })()`);
}

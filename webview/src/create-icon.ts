/** A codicon in the light DOM (the page links codicon.css), hidden from screen readers. */
export function createIcon(name: string, extraClass?: string): HTMLSpanElement {
  const icon = document.createElement("span");
  icon.className = extraClass ? `codicon codicon-${name} ${extraClass}` : `codicon codicon-${name}`;
  icon.setAttribute("aria-hidden", "true");
  return icon;
}

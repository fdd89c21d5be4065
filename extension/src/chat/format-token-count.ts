/**
 * A token count as people say it: 200000 → "200K", 131072 → "128K", 1048576 → "1M", 8192 → "8K".
 * Powers of two are counted in 1024s (that is how those windows are meant), round numbers in 1000s.
 */
export function formatTokenCount(tokens: number): string {
  const base = tokens % 1024 === 0 ? 1024 : 1000;
  if (tokens >= base * base) return `${trimNumber(tokens / (base * base))}M`;
  if (tokens >= base) return `${trimNumber(tokens / base)}K`;
  return String(tokens);
}

function trimNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1).replace(/\.0$/, "");
}

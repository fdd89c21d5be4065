/**
 * Runs `load` on the first call and shares its promise with every later caller. A failed load is
 * forgotten, so the next call tries again instead of failing forever.
 *
 * Used to import each provider's SDK on first use: together they cost about 30 MB of memory and
 * a noticeable part of start-up, and most teams use one or two of the three providers.
 */
export function loadOnce<Value>(load: () => Promise<Value>): () => Promise<Value> {
  let loading: Promise<Value> | undefined;
  return () => {
    loading ??= load().catch((error: unknown) => {
      loading = undefined;
      throw error;
    });
    return loading;
  };
}

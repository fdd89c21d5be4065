import type { SearchResponse, SearchResult } from "../../../protocol/http/search";

export type RunSearch = (query: { q: string; cursor?: string; limit: number }, signal: AbortSignal) => Promise<SearchResponse>;

/** What the search quick pick shows. */
export interface SearchState {
  query: string;
  results: readonly SearchResult[];
  /** More results can be loaded. */
  hasMore: boolean;
  isBusy: boolean;
  /** Plain words, when the last request failed. */
  error: string | undefined;
}

export const SEARCH_DEBOUNCE_MS = 150;
export const SEARCH_RESULTS_PER_PAGE = 25;

/**
 * The search behind "Juggler: Search Conversations", without VS Code: a request once typing pauses
 * (debounced), the request for an older query cancelled when a newer one starts (its answer is
 * dropped even if it arrives), and more results on request. Every change is reported whole.
 */
export class SearchRunner {
  private state: SearchState = { query: "", results: [], hasMore: false, isBusy: false, error: undefined };
  private cursor: string | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private inFlight: AbortController | undefined;
  private isDisposed = false;

  constructor(
    private readonly run: RunSearch,
    private readonly onChange: (state: SearchState) => void,
    private readonly debounceMs = SEARCH_DEBOUNCE_MS,
  ) {}

  get current(): SearchState {
    return this.state;
  }

  setQuery(query: string): void {
    clearTimeout(this.timer);
    this.inFlight?.abort();
    this.inFlight = undefined;
    if (query.trim() === "") {
      this.cursor = null;
      this.update({ query, results: [], hasMore: false, isBusy: false, error: undefined });
      return;
    }
    this.update({ ...this.state, query, isBusy: true, error: undefined });
    this.timer = setTimeout(() => void this.fetch(query, undefined), this.debounceMs);
  }

  /** The next page of the current query's results. */
  loadMore(): void {
    if (this.cursor === null || this.state.isBusy) return;
    this.update({ ...this.state, isBusy: true });
    void this.fetch(this.state.query, this.cursor);
  }

  dispose(): void {
    this.isDisposed = true;
    clearTimeout(this.timer);
    this.inFlight?.abort();
  }

  private async fetch(query: string, cursor: string | undefined): Promise<void> {
    const controller = new AbortController();
    this.inFlight = controller;
    try {
      const page = await this.run({ q: query, limit: SEARCH_RESULTS_PER_PAGE, ...(cursor ? { cursor } : {}) }, controller.signal);
      if (controller.signal.aborted || this.isDisposed) return;
      this.cursor = page.nextCursor;
      this.update({
        query,
        results: cursor ? [...this.state.results, ...page.results] : page.results,
        hasMore: page.nextCursor !== null,
        isBusy: false,
        error: undefined,
      });
    } catch (error) {
      if (controller.signal.aborted || this.isDisposed) return;
      this.update({ ...this.state, isBusy: false, error: error instanceof Error ? error.message : String(error) });
    } finally {
      if (this.inFlight === controller) this.inFlight = undefined;
    }
  }

  private update(state: SearchState): void {
    this.state = state;
    if (!this.isDisposed) this.onChange(state);
  }
}

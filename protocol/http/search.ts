import { z } from "zod";
import { messageRoleSchema } from "./conversations";

/** Longest query text the server looks at; a longer one is refused (400), never cut silently. */
export const SEARCH_QUERY_MAX_CHARACTERS = 1_000;
/** Words of one query (each word must occur in a result). */
export const SEARCH_QUERY_MAX_WORDS = 16;
/** Longest word of a query: no indexed word of a real message is longer. */
export const SEARCH_WORD_MAX_CHARACTERS = 100;
export const SEARCH_PAGE_DEFAULT = 20;
export const SEARCH_PAGE_MAX = 50;

/** A length limit that answers 400 with plain words (a `max()` would be a 413, which is for bodies). */
const boundedText = (maximum: number) =>
  z.string().refine((value) => value.length <= maximum, `at most ${maximum.toLocaleString("en")} characters`);

/**
 * `GET /search`: the signed-in user's messages and conversation titles that contain every word of
 * `q` (the last word also as the start of a longer one while it is being typed), ranked, with a
 * highlighted snippet each. Any text is a valid query: it is split into words; operators, quotes
 * and punctuation of search syntaxes mean nothing.
 */
export const searchQuerySchema = z.object({
  q: boundedText(SEARCH_QUERY_MAX_CHARACTERS),
  limit: z.coerce.number().int().min(1).max(SEARCH_PAGE_MAX).default(SEARCH_PAGE_DEFAULT),
  /** Opaque cursor from the previous page's nextCursor (for the same q). */
  cursor: z.string().max(200).optional(),
});
export type SearchQuery = z.infer<typeof searchQuerySchema>;

/** A part of a snippet to show highlighted: [start, end) in UTF-16 code units of `snippet`. */
export const searchHighlightSchema = z.object({
  start: z.number().int().min(0),
  end: z.number().int().min(0),
});
export type SearchHighlight = z.infer<typeof searchHighlightSchema>;

export const searchResultSchema = z.object({
  conversationId: z.string(),
  /** null: the conversation's title matched (the snippet is the title). */
  messageId: z.string().nullable(),
  /** The conversation's title. */
  title: z.string(),
  /** Who wrote the message (null for a title). */
  role: messageRoleSchema.nullable(),
  /** Plain text around the best match, whitespace collapsed, "…" where it was cut. */
  snippet: z.string(),
  /** The words of the query in `snippet`, in order. */
  highlights: z.array(searchHighlightSchema),
  /** When the message was written (for a title: when the conversation was created). */
  createdAt: z.string(),
});
export type SearchResult = z.infer<typeof searchResultSchema>;

export const searchResponseSchema = z.object({
  results: z.array(searchResultSchema),
  /** For the next page of the same query; null when there is none. */
  nextCursor: z.string().nullable(),
});
export type SearchResponse = z.infer<typeof searchResponseSchema>;

/** Longest text "find in chat" looks for. */
export const FIND_QUERY_MAX_CHARACTERS = 500;
/** Messages one find answers with; the count still covers them all. */
export const FIND_MATCHED_MESSAGES_MAX = 5_000;

/**
 * `GET /conversations/:id/find`: where a text occurs on the conversation's current branch, for the
 * chat's find bar. Like an editor's find widget: case-insensitive, anywhere in a word, in each
 * message's text as it was written (markdown included).
 */
export const findInConversationQuerySchema = z.object({
  q: boundedText(FIND_QUERY_MAX_CHARACTERS).refine((value) => value.length > 0, "must not be empty"),
});
export type FindInConversationQuery = z.infer<typeof findInConversationQuerySchema>;

export const findInConversationResponseSchema = z.object({
  /** The leaf of the branch that was searched (the client checks it still shows that branch). */
  leafMessageId: z.string().nullable(),
  branchMessageCount: z.number().int().min(0),
  /** The messages of the branch containing the text, root first. */
  matches: z.array(
    z.object({
      messageId: z.string(),
      /** Position on the branch, root = 1. */
      depth: z.number().int().min(1),
      /** How many times the text occurs in the message. */
      count: z.number().int().min(1),
    }),
  ),
  /** Occurrences in all matching messages, also those left out of `matches`. */
  totalCount: z.number().int().min(0),
  /** true when more messages matched than FIND_MATCHED_MESSAGES_MAX (the newest are left out). */
  isTruncated: z.boolean(),
});
export type FindInConversationResponse = z.infer<typeof findInConversationResponseSchema>;

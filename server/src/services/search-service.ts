import { messageRoleSchema } from "../../../protocol/http/conversations";
import type {
  FindInConversationQuery,
  FindInConversationResponse,
  SearchQuery,
  SearchResponse,
  SearchResult,
} from "../../../protocol/http/search";
import { FIND_MATCHED_MESSAGES_MAX } from "../../../protocol/http/search";
import { countOccurrences } from "../../../protocol/text-occurrences";
import { AppError } from "../domain/app-error";
import { ConversationRepository } from "../storage/conversation-repository";
import { ownerDocumentRange } from "../storage/search-owner-range";
import { SearchRepository, type SearchCandidate } from "../storage/search-repository";
import { rankSearchCandidates } from "./rank-search-candidates";
import { makeSnippet } from "./search-snippet";
import { hasTerms, parseSearchTerms } from "./search-terms";
import type { ServiceContext } from "./service-context";

/**
 * How many of the newest matching documents are ranked together. A query matching more (a very
 * common word) is ranked a window at a time, newest window first, so one page costs the same
 * whether 50 or 500,000 documents match (docs/decisions/0022-library-search-and-organisation.md).
 */
export const SEARCH_WINDOW_SIZE = 300;

/**
 * Search over one user's messages and titles, and "find in chat" on one branch. Read-only: the
 * database keeps the index in step with every write (migration 0009).
 */
export class SearchService {
  constructor(
    private readonly context: ServiceContext,
    private readonly windowSize = SEARCH_WINDOW_SIZE,
  ) {}

  async search(userId: string, query: SearchQuery): Promise<SearchResponse> {
    const terms = parseSearchTerms(query.q);
    if (!hasTerms(terms)) return { results: [], nextCursor: null };
    const repository = new SearchRepository(this.context.database, userId);
    const ownerKey = await repository.findOwnerKey();
    if (ownerKey === undefined) return { results: [], nextCursor: null };
    const range = ownerDocumentRange(ownerKey);
    const position = query.cursor === undefined ? { upToId: range.last, offset: 0 } : decodeSearchCursor(query.cursor);
    if (position.upToId < range.first || position.upToId > range.last) {
      throw new AppError(400, "validation_failed", "cursor: not a cursor from a previous page");
    }
    const window = await this.findWindow(repository, ownerKey, terms, position.upToId);
    const ranked = rankSearchCandidates(
      window.map((candidate) => ({ ...candidate, isTitle: candidate.messageId === null })),
      terms,
    );
    const page = ranked.slice(position.offset, position.offset + query.limit);
    const titles = await repository.findConversationTitles(page.map((candidate) => candidate.conversationId));
    const results = page.flatMap((candidate) => {
      const title = titles.get(candidate.conversationId);
      return title === undefined ? [] : [toResult(candidate, title, terms)];
    });
    let nextCursor: string | null = null;
    const newest = window[0];
    const oldest = window.at(-1);
    if (newest && position.offset + query.limit < ranked.length) {
      nextCursor = encodeSearchCursor({ upToId: newest.documentId, offset: position.offset + query.limit });
    } else if (oldest && window.length === this.windowSize && oldest.documentId > range.first) {
      nextCursor = encodeSearchCursor({ upToId: oldest.documentId - 1, offset: 0 });
    }
    return { results, nextCursor };
  }

  private async findWindow(
    repository: SearchRepository,
    ownerKey: number,
    terms: ReturnType<typeof parseSearchTerms>,
    upToId: number,
  ): Promise<SearchCandidate[]> {
    try {
      return await repository.findNewestMatches(ownerKey, terms, upToId, this.windowSize);
    } catch (error) {
      // A word the database cuts differently than we do (e.g. letters newer than SQLite's Unicode
      // tables) can make a query the index cannot run: that is the query's problem, not the server's.
      if (isQueryRejectedByIndex(error)) throw new AppError(400, "validation_failed", "q: this text cannot be searched");
      throw error;
    }
  }

  /**
   * Where `q` occurs on the conversation's current branch (case-insensitive, anywhere in a word):
   * each message with its position and count, root first. The walk reads the branch's ids, and the
   * texts of the messages the database's own filter lets through.
   */
  async findInConversation(userId: string, conversationId: string, query: FindInConversationQuery): Promise<FindInConversationResponse> {
    const conversation = await new ConversationRepository(this.context.database, userId).requireConversation(conversationId);
    const leafId = conversation.leaf_message_id;
    if (leafId === null) return { leafMessageId: null, branchMessageCount: 0, matches: [], totalCount: 0, isTruncated: false };
    const rows = await new SearchRepository(this.context.database, userId).findBranchTexts(conversationId, leafId, query.q);
    const matches: FindInConversationResponse["matches"] = [];
    let totalCount = 0;
    let matchedMessages = 0;
    for (const row of rows) {
      const count = countOccurrences(row.content, query.q);
      if (count === 0) continue;
      totalCount += count;
      matchedMessages++;
      if (matches.length < FIND_MATCHED_MESSAGES_MAX) matches.push({ messageId: row.id, depth: row.depth, count });
    }
    const leafDepth = await this.depthOf(userId, leafId);
    return {
      leafMessageId: leafId,
      branchMessageCount: leafDepth,
      matches,
      totalCount,
      isTruncated: matchedMessages > matches.length,
    };
  }

  private async depthOf(userId: string, messageId: string): Promise<number> {
    const depths = await new ConversationRepository(this.context.database, userId).findDepths([messageId]);
    return depths.get(messageId) ?? 0;
  }
}

function toResult(candidate: SearchCandidate, title: string, terms: ReturnType<typeof parseSearchTerms>): SearchResult {
  const { snippet, highlights } = makeSnippet(candidate.text, terms);
  const role = candidate.role === null ? null : messageRoleSchema.safeParse(candidate.role);
  return {
    conversationId: candidate.conversationId,
    messageId: candidate.messageId,
    title,
    role: role === null || !role.success ? null : role.data,
    snippet,
    highlights,
    createdAt: new Date(candidate.createdAt).toISOString(),
  };
}

function isQueryRejectedByIndex(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  // SQLite: "fts5: syntax error …", "fts5: phrase queries are not supported …"; PostgreSQL: syntax errors in tsquery.
  return /fts5:|syntax error in tsquery|tsquery/i.test(message);
}

/** Cursors are opaque to clients: base64url of ["s", newest document id of the window, results already given from it]. */
function encodeSearchCursor(position: { upToId: number; offset: number }): string {
  return Buffer.from(JSON.stringify(["s", position.upToId, position.offset])).toString("base64url");
}

function decodeSearchCursor(cursor: string): { upToId: number; offset: number } {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (
      Array.isArray(value) &&
      value.length === 3 &&
      value[0] === "s" &&
      Number.isSafeInteger(value[1]) &&
      Number.isSafeInteger(value[2]) &&
      (value[2] as number) >= 0 &&
      (value[2] as number) < 100_000
    ) {
      return { upToId: value[1] as number, offset: value[2] as number };
    }
  } catch {
    // fall through: any malformed cursor gets the same answer
  }
  throw new AppError(400, "validation_failed", "cursor: not a cursor from a previous page");
}

import type { Conversation } from "../../../protocol/http/conversations";
import { buildPath } from "../../../protocol/http/endpoints";
import { conversationExportPath, userExportPath, type ExportFormat, type ImportResponse } from "../../../protocol/http/export";
import type { SearchResponse } from "../../../protocol/http/search";
import type { TeamServerClient } from "../server-client/team-server-client";

/** A file the server sent, with the name it suggests (Content-Disposition). */
export interface DownloadedFile {
  fileName: string;
  response: Response;
}

/**
 * The library's calls to the team server, without VS Code: pin, archive, move to a workspace
 * folder, search, export (downloads) and import. The surfaces decide what to show; the chat session
 * does what touches the open chat (opening at a message, deleting).
 */
export class ConversationLibrary {
  constructor(private readonly client: TeamServerClient) {}

  async setPinned(conversationId: string, isPinned: boolean): Promise<Conversation> {
    return (await this.client.call("updateConversation", { params: { conversationId }, body: { isPinned } })).conversation;
  }

  async setArchived(conversationId: string, isArchived: boolean): Promise<Conversation> {
    return (await this.client.call("updateConversation", { params: { conversationId }, body: { isArchived } })).conversation;
  }

  /** Into a workspace folder (its URI), or out of any (null). */
  async moveToWorkspace(conversationId: string, workspaceHint: string | null): Promise<Conversation> {
    return (await this.client.call("updateConversation", { params: { conversationId }, body: { workspaceHint } })).conversation;
  }

  search(query: { q: string; cursor?: string; limit: number }, signal?: AbortSignal): Promise<SearchResponse> {
    return this.client.call("search", { query, signal });
  }

  async exportConversation(conversationId: string, format: ExportFormat, signal?: AbortSignal): Promise<DownloadedFile> {
    const path = `${buildPath(conversationExportPath, { conversationId })}?format=${format}`;
    return toFile(await this.client.download(path, { signal }), format === "markdown" ? "conversation.md" : "conversation.juggler.json");
  }

  async exportEverything(signal?: AbortSignal): Promise<DownloadedFile> {
    return toFile(await this.client.download(userExportPath, { signal }), "juggler-export.juggler.json");
  }

  importFile(bytes: Uint8Array, signal?: AbortSignal): Promise<ImportResponse> {
    return this.client.importFile(bytes, { signal });
  }
}

function toFile(response: Response, fallbackName: string): DownloadedFile {
  return { fileName: fileNameFromDisposition(response.headers.get("content-disposition")) ?? fallbackName, response };
}

/** The file name of a Content-Disposition header (RFC 6266: `filename*` first), reduced to a safe base name. */
export function fileNameFromDisposition(header: string | null): string | undefined {
  if (!header) return undefined;
  const extended = /filename\*=UTF-8''([^;]+)/i.exec(header);
  let name: string | undefined;
  if (extended?.[1]) {
    try {
      name = decodeURIComponent(extended[1]);
    } catch {
      name = undefined;
    }
  }
  name ??= /filename="([^"]*)"/i.exec(header)?.[1];
  // a name, never a path: the server's word must not choose where the file goes
  const base = name?.split(/[\\/]/).pop()?.replace(/^\.+/, "");
  return base ? base : undefined;
}

/** "3 conversations (120 messages)", and what was left out, in plain words. */
export function describeImport(result: ImportResponse): string {
  const messages = result.conversations.reduce((sum, conversation) => sum + conversation.messageCount, 0);
  const count = result.conversations.length;
  const imported = `Imported ${count} conversation${count === 1 ? "" : "s"} (${messages.toLocaleString("en")} message${messages === 1 ? "" : "s"})${result.source === "chatgpt" ? " from ChatGPT" : ""}.`;
  if (result.skipped.length === 0) return imported;
  return `${imported} Left out: ${result.skipped.map((skipped) => `${skipped.count} ${skipped.reason}`).join("; ")}.`;
}

import * as vscode from "vscode";
import { ATTACHMENT_MAX_CHARACTERS, IMAGE_MAX_BYTES, IMAGE_TOKEN_ESTIMATE, type ImageMediaType } from "../../../protocol/http/attachments";
import { estimateTextTokens } from "../../../protocol/estimate-text-tokens";
import type { ComposerAttachment } from "../../../protocol/webview/chat-protocol";
import { filterIgnoredFiles } from "../chat/filter-ignored-files";
import { rankFilesByQuery } from "../chat/rank-files-by-query";

/** The `@` picker lists at most this many files, best matches first. */
const FILES_SHOWN_MAX = 50;
/** Files read from the workspace for the picker (findFiles' own limit). */
const FILES_LISTED_MAX = 20_000;
/** A file's first bytes are checked for a NUL byte: text files have none, binary ones almost always do. */
const BINARY_SNIFF_BYTES = 8000;
/** Image files the chat attaches as images (the types every provider here takes), by extension. */
const IMAGE_TYPES_BY_EXTENSION: Readonly<Record<string, ImageMediaType>> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
};

/**
 * The workspace's files for the chat's `@` picker and "Add File to Chat". `findFiles` with no exclude
 * argument applies the `files.exclude` setting but not `.gitignore` (search's ignore files are only
 * in a proposed API), so the `.gitignore` files among the listed ones, the root's and nested ones, are
 * applied here (filter-ignored-files.ts, with the `ignore` package's implementation of git's rules).
 */
export class WorkspaceFiles implements vscode.Disposable {
  private cached: Promise<string[]> | undefined;
  private readonly watcher = vscode.workspace.createFileSystemWatcher("**/*", false, true, false);

  constructor() {
    // a file created or deleted: the list is read again next time
    this.watcher.onDidCreate(() => (this.cached = undefined));
    this.watcher.onDidDelete(() => (this.cached = undefined));
  }

  async find(query: string): Promise<Array<{ path: string }>> {
    this.cached ??= this.list();
    const paths = await this.cached;
    return rankFilesByQuery(paths, query, FILES_SHOWN_MAX).map((path) => ({ path }));
  }

  /**
   * A workspace file as a context chip: a PNG, JPEG, GIF or WebP file as an image, any other as text; a
   * binary, unreadable or too large file is refused in plain words.
   */
  async readAttachment(pathOrUri: string | vscode.Uri): Promise<ComposerAttachment> {
    const uri = typeof pathOrUri === "string" ? resolveWorkspacePath(pathOrUri) : pathOrUri;
    if (!uri) throw new Error(`${String(pathOrUri)} is not a file of this workspace.`);
    const path = vscode.workspace.asRelativePath(uri, false);
    const bytes = await vscode.workspace.fs.readFile(uri);
    // an image goes as an image (to models that see them; the server checks it is what its name says)
    const imageType = IMAGE_TYPES_BY_EXTENSION[path.slice(path.lastIndexOf(".") + 1).toLowerCase()];
    if (imageType) {
      if (bytes.length > IMAGE_MAX_BYTES) {
        throw new Error(
          `${path} is too large to add (${Math.round(bytes.length / 1024)} KB, at most ${Math.round(IMAGE_MAX_BYTES / 1024)} KB).`,
        );
      }
      return {
        attachment: { kind: "image", path, mediaType: imageType, data: Buffer.from(bytes).toString("base64") },
        tokenEstimate: IMAGE_TOKEN_ESTIMATE,
      };
    }
    if (bytes.subarray(0, BINARY_SNIFF_BYTES).includes(0))
      throw new Error(`${path} is a binary file: only text files can be added to the chat.`);
    const content = new TextDecoder("utf-8").decode(bytes);
    if (content.length > ATTACHMENT_MAX_CHARACTERS) {
      throw new Error(
        `${path} is too large to add (${content.length.toLocaleString("en-US")} characters, at most ${ATTACHMENT_MAX_CHARACTERS.toLocaleString("en-US")}); select the part you need and send the selection.`,
      );
    }
    const document = vscode.workspace.textDocuments.find((open) => open.uri.toString() === uri.toString());
    const language = document?.languageId;
    return {
      attachment: { kind: "file", path, ...(language ? { language } : {}), content },
      tokenEstimate: estimateTextTokens(content),
    };
  }

  private async list(): Promise<string[]> {
    const uris = await vscode.workspace.findFiles("**/*", undefined, FILES_LISTED_MAX);
    // per workspace folder: the paths inside it, filtered by its .gitignore files
    const byFolder = new Map<string, { folder: vscode.WorkspaceFolder; uris: Map<string, vscode.Uri> }>();
    for (const uri of uris) {
      const folder = vscode.workspace.getWorkspaceFolder(uri);
      if (!folder) continue;
      const key = folder.uri.toString();
      const entry = byFolder.get(key) ?? { folder, uris: new Map<string, vscode.Uri>() };
      entry.uris.set(uri.path.slice(folder.uri.path.length).replace(/^\/+/, ""), uri);
      byFolder.set(key, entry);
    }
    const kept: string[] = [];
    for (const { folder, uris: inFolder } of byFolder.values()) {
      const paths = await filterIgnoredFiles([...inFolder.keys()], (path) => readText(vscode.Uri.joinPath(folder.uri, path)));
      for (const path of paths) kept.push(vscode.workspace.asRelativePath(inFolder.get(path)!, false));
    }
    return kept.sort();
  }

  dispose(): void {
    this.watcher.dispose();
  }
}

async function readText(uri: vscode.Uri): Promise<string | undefined> {
  try {
    return new TextDecoder("utf-8").decode(await vscode.workspace.fs.readFile(uri));
  } catch {
    return undefined;
  }
}

function resolveWorkspacePath(path: string): vscode.Uri | undefined {
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (folders.length === 0) return undefined;
  // a multi-root workspace names files "folder/path"
  if (folders.length > 1) {
    const [first, ...rest] = path.split("/");
    const folder = folders.find((candidate) => candidate.name === first);
    if (folder) return vscode.Uri.joinPath(folder.uri, ...rest);
  }
  const segments = path.split("/").filter((segment) => segment !== "" && segment !== "." && segment !== "..");
  return vscode.Uri.joinPath(folders[0]!.uri, ...segments);
}

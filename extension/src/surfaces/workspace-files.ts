import ignore, { type Ignore } from "ignore";
import * as vscode from "vscode";
import { ATTACHMENT_MAX_CHARACTERS, IMAGE_MAX_BYTES, IMAGE_TOKEN_ESTIMATE, type ImageMediaType } from "../../../protocol/http/attachments";
import { estimateTextTokens } from "../../../protocol/estimate-text-tokens";
import type { ComposerAttachment } from "../../../protocol/webview/chat-protocol";
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
 * in a proposed API), so each folder's root `.gitignore` is applied here with the `ignore` package,
 * which implements git's matching rules. Nested `.gitignore` files are not read.
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
    const rules = new Map<string, Ignore | null>();
    const kept: string[] = [];
    for (const uri of uris) {
      const folder = vscode.workspace.getWorkspaceFolder(uri);
      if (!folder) continue;
      const key = folder.uri.toString();
      if (!rules.has(key)) rules.set(key, await readGitignore(folder.uri));
      const relative = vscode.workspace.asRelativePath(uri, false);
      const inFolder = uri.path.slice(folder.uri.path.length).replace(/^\/+/, "");
      if (rules.get(key)?.ignores(inFolder)) continue;
      kept.push(relative);
    }
    return kept.sort();
  }

  dispose(): void {
    this.watcher.dispose();
  }
}

async function readGitignore(folder: vscode.Uri): Promise<Ignore | null> {
  try {
    const bytes = await vscode.workspace.fs.readFile(vscode.Uri.joinPath(folder, ".gitignore"));
    return ignore().add(new TextDecoder("utf-8").decode(bytes));
  } catch {
    return null;
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

import * as vscode from "vscode";
import type { ChatSession } from "../chat/chat-session";

const ATTACHMENT_SCHEME = "juggler-attachment";
/** Attachments kept in memory after a read (they never change on the server): the tabs open now, roughly. */
const CACHED_ATTACHMENTS_MAX = 20;

/**
 * Files, selections and images sent with a question, opened read-only as the server stored them
 * (`juggler-attachment:/<message>/<attachment>/<name>`). A read-only file system rather than a text
 * document provider, so VS Code's own image preview shows an image and the editor a text, by the name's
 * extension. History pages never carry this content: it is read when a tab opens.
 */
export class AttachmentFileSystem implements vscode.FileSystemProvider {
  private readonly changes = new vscode.EventEmitter<vscode.FileChangeEvent[]>();
  readonly onDidChangeFile = this.changes.event;
  private readonly cache = new Map<string, Promise<Uint8Array>>();

  constructor(private readonly session: ChatSession) {}

  async open(messageId: string, attachmentId: string, path: string): Promise<void> {
    const name =
      path
        .split("/")
        .filter((segment) => segment.length > 0)
        .at(-1) ?? "attachment";
    const uri = vscode.Uri.from({ scheme: ATTACHMENT_SCHEME, path: `/${messageId}/${attachmentId}/${name}` });
    await vscode.commands.executeCommand("vscode.open", uri, { preview: true });
  }

  async stat(uri: vscode.Uri): Promise<vscode.FileStat> {
    const bytes = await this.read(uri);
    return { type: vscode.FileType.File, ctime: 0, mtime: 0, size: bytes.length, permissions: vscode.FilePermission.Readonly };
  }

  readFile(uri: vscode.Uri): Promise<Uint8Array> {
    return this.read(uri);
  }

  watch(): vscode.Disposable {
    // attachments never change: nothing to watch
    return new vscode.Disposable(() => undefined);
  }

  readDirectory(uri: vscode.Uri): never {
    throw vscode.FileSystemError.FileNotADirectory(uri);
  }

  createDirectory(uri: vscode.Uri): never {
    throw vscode.FileSystemError.NoPermissions(uri);
  }

  writeFile(uri: vscode.Uri): never {
    throw vscode.FileSystemError.NoPermissions(uri);
  }

  delete(uri: vscode.Uri): never {
    throw vscode.FileSystemError.NoPermissions(uri);
  }

  rename(uri: vscode.Uri): never {
    throw vscode.FileSystemError.NoPermissions(uri);
  }

  private read(uri: vscode.Uri): Promise<Uint8Array> {
    const [messageId, attachmentId] = uri.path.split("/").filter((segment) => segment.length > 0);
    if (!messageId || !attachmentId) return Promise.reject(vscode.FileSystemError.FileNotFound(uri));
    const key = `${messageId}/${attachmentId}`;
    const cached = this.cache.get(key);
    if (cached) return cached;
    const reading = this.session.readAttachment(messageId, attachmentId).catch((error: unknown) => {
      this.cache.delete(key);
      throw vscode.FileSystemError.FileNotFound(`${uri.path}: ${error instanceof Error ? error.message : String(error)}`);
    });
    this.cache.set(key, reading);
    // the oldest read goes first once the cache is full (a Map iterates in insertion order)
    if (this.cache.size > CACHED_ATTACHMENTS_MAX) this.cache.delete(this.cache.keys().next().value!);
    return reading;
  }

  dispose(): void {
    this.changes.dispose();
    this.cache.clear();
  }
}

export function registerAttachmentFileSystem(context: vscode.ExtensionContext, session: ChatSession): AttachmentFileSystem {
  const fileSystem = new AttachmentFileSystem(session);
  context.subscriptions.push(
    fileSystem,
    vscode.workspace.registerFileSystemProvider(ATTACHMENT_SCHEME, fileSystem, { isReadonly: true, isCaseSensitive: true }),
  );
  return fileSystem;
}

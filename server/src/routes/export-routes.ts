import type Router from "@koa/router";
import { conversationExportPath, conversationExportQuerySchema, userExportPath } from "../../../protocol/http/export";
import { requireMember, type AuthenticatedState } from "../http/auth-middleware";
import { validate } from "../http/validate";
import type { ExportFile } from "../services/export-service";
import type { Services } from "../services/services";

/**
 * Downloads (files, not JSON answers; like the generation stream, not endpoint definitions): one
 * conversation as Juggler JSON or Markdown, and everything the user has as Juggler JSON, streamed.
 * Failures before the file starts are the usual coded JSON errors.
 */
export function exportRoutes(router: Router, services: Services): void {
  router.get<AuthenticatedState>(conversationExportPath, requireMember(services.accounts), async (context) => {
    const { format } = validate(conversationExportQuerySchema, context.query);
    const file = await services.exports.exportConversation(context.state.user.id, context.params.conversationId ?? "", format);
    send(context, file);
  });

  router.get<AuthenticatedState>(userExportPath, requireMember(services.accounts), async (context) => {
    send(context, await services.exports.exportUser(context.state.user.id));
  });
}

function send(context: { set(name: string, value: string): void; type: string; body: unknown; status: number }, file: ExportFile): void {
  context.status = 200;
  context.type = file.contentType;
  // RFC 6266: a plain ASCII name for old clients, the exact one in filename*.
  const asciiName = file.fileName.replace(/[^\x20-\x7e]|["\\]/g, "_");
  context.set("Content-Disposition", `attachment; filename="${asciiName}"; filename*=UTF-8''${encodeURIComponent(file.fileName)}`);
  context.body = file.body;
}

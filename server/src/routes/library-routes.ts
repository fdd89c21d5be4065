import { endpoints } from "../../../protocol/http/endpoints";
import type { Config } from "../config";
import type { Mount } from "../http/mount";
import { readRawBody } from "../http/read-raw-body";
import type { Services } from "../services/services";

/** The library: search, find in a conversation, open a conversation at a message, import a file of conversations. */
export function libraryRoutes(mount: Mount, services: Services, config: Config): void {
  mount(endpoints.search, ({ request, user }) => services.search.search(user.id, request));

  mount(endpoints.findInConversation, ({ request, params, user }) =>
    services.search.findInConversation(user.id, params.conversationId ?? "", request),
  );

  mount(endpoints.setConversationLeaf, ({ request, params, user }) =>
    services.conversations.setLeaf(user.id, params.conversationId ?? "", request.messageId),
  );

  // The body is the file itself; the app's JSON body parser leaves this path alone (app.ts).
  mount(endpoints.importConversations, async ({ user, context }) =>
    services.imports.importFile(user.id, await readRawBody(context, config.importMaxBytes, "IMPORT_MAX_BYTES")),
  );
}

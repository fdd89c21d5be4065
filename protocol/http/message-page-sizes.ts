/**
 * Messages per page of a conversation's history and of Show Context. Apart from the schemas of
 * conversations.ts (which re-exports them) so that reading them builds no schema: the extension's
 * bundle evaluates protocol schemas only on first use (tools/build.mjs, lazy protocol).
 */
export const MESSAGE_PAGE_DEFAULT = 50;
export const MESSAGE_PAGE_MAX = 200;

import { z } from "zod";
import { conversationSchema } from "./conversations";

/**
 * `PUT /conversations/:id/leaf`: make the current branch pass through a message. When the branch
 * already does, nothing changes; otherwise the leaf becomes the newest message below that one (its
 * newest descendant, or the message itself). Opening a search result uses it, and switching to a
 * sibling branch is the same request with the sibling's id. The next send continues this branch.
 */
export const setLeafRequestSchema = z.object({ messageId: z.string().min(1).max(100) });
export type SetLeafRequest = z.infer<typeof setLeafRequestSchema>;

export const setLeafResponseSchema = z.object({
  conversation: conversationSchema,
  /** The message's position on the branch (root = 1): how far above the leaf it is. */
  messageDepth: z.number().int().min(1),
  /** The branch's length, root to the (possibly new) leaf. */
  branchMessageCount: z.number().int().min(1),
});
export type SetLeafResponse = z.infer<typeof setLeafResponseSchema>;

import type { Conversation } from "../../../protocol/http/conversations";

export const recencyGroups = ["Today", "Yesterday", "Previous 7 Days", "Older"] as const;
export type RecencyGroup = (typeof recencyGroups)[number];

export interface ConversationGroup {
  group: RecencyGroup;
  conversations: Conversation[];
}

/**
 * Groups conversations by their last message in local time, the way chat apps do: Today, Yesterday,
 * the 7 days before, Older. Empty groups are left out; order within a group is kept.
 */
export function groupConversationsByRecency(conversations: readonly Conversation[], now: Date = new Date()): ConversationGroup[] {
  const startOfToday = new Date(now.getFullYear(), now.getMonth(), now.getDate()).getTime();
  const startOfYesterday = new Date(now.getFullYear(), now.getMonth(), now.getDate() - 1).getTime();
  const startOfPreviousWeek = new Date(now.getFullYear(), now.getMonth(), now.getDate() - 7).getTime();
  const groups = new Map<RecencyGroup, Conversation[]>(recencyGroups.map((group) => [group, []]));
  for (const conversation of conversations) {
    const time = Date.parse(conversation.lastMessageAt);
    // A clock ahead of ours (another machine) still counts as today.
    const group: RecencyGroup = !Number.isFinite(time)
      ? "Older"
      : time >= startOfToday
        ? "Today"
        : time >= startOfYesterday
          ? "Yesterday"
          : time >= startOfPreviousWeek
            ? "Previous 7 Days"
            : "Older";
    groups.get(group)?.push(conversation);
  }
  return recencyGroups
    .map((group) => ({ group, conversations: groups.get(group) ?? [] }))
    .filter((entry) => entry.conversations.length > 0);
}

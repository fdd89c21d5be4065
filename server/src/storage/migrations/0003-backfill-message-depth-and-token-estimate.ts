import type { Knex } from "knex";

/**
 * Fills messages.depth and messages.token_estimate for rows written before 0002.
 *
 * Depth: ONE recursive walk over the whole message forest (roots first, children through the
 * parent_id index) joined into one UPDATE … FROM, so the work is linear in the number of messages.
 * (One UPDATE per depth level would be quadratic for a long branch.) SQLite ≥ 3.33 and PostgreSQL
 * both take a WITH prefix on UPDATE … FROM; SQLite indexes the materialised walk automatically.
 *
 * Token estimate: the same rule as server/src/services/token-estimate.ts (ceil(characters / 4) + 4
 * for the role markers), in SQL so no text crosses to the server. SQL counts characters where
 * JavaScript counts UTF-16 units, so a character outside the Basic Multilingual Plane (an emoji)
 * counts once here and twice for new messages: an estimate either way.
 *
 * Only rows still NULL are touched, so re-running is harmless. Down is a no-op: 0002's down drops
 * the columns.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    WITH RECURSIVE tree (id, depth) AS (
      SELECT id, 1 FROM messages WHERE parent_id IS NULL
      UNION ALL
      SELECT child.id, tree.depth + 1 FROM messages child JOIN tree ON child.parent_id = tree.id
    )
    UPDATE messages SET depth = tree.depth FROM tree WHERE messages.id = tree.id AND messages.depth IS NULL`);
  await knex.raw(`UPDATE messages SET token_estimate = (length(content) + 3) / 4 + 4 WHERE token_estimate IS NULL`);
}

export async function down(): Promise<void> {
  // nothing to undo: the columns go with 0002's down
}

import type { Knex } from "knex";

/**
 * Schema for the hardening work (issue 8). Immutable once shipped.
 * - `users.name_skeleton`, `name_skeleton_lower`, `name_skeleton_upper`: how the name looks as written,
 *   in small and in capital letters (Unicode confusables folded), so that a look-alike of a taken name is refused. Filled by
 *   the account service on start (it needs the application's folding, which a migration must not
 *   import), then written with every account.
 * - `model_fallbacks`: per model, the ordered models that answer when it cannot.
 * - `rate_limits` (PostgreSQL only): sign-in limits shared by every server instance on the database,
 *   in rate-limiter-flexible's layout. A SQLite server is one process and keeps them in memory.
 */
export async function up(knex: Knex): Promise<void> {
  if (!(await knex.schema.hasColumn("users", "name_skeleton"))) {
    await knex.schema.alterTable("users", (table) => {
      table.string("name_skeleton", 255).nullable();
      table.string("name_skeleton_lower", 255).nullable();
      table.string("name_skeleton_upper", 255).nullable();
      table.index(["name_skeleton"]);
      table.index(["name_skeleton_lower"]);
      table.index(["name_skeleton_upper"]);
    });
  }

  if (!(await knex.schema.hasTable("model_fallbacks"))) {
    await knex.schema.createTable("model_fallbacks", (table) => {
      table.string("model_id", 300).notNullable().references("id").inTable("models").onDelete("CASCADE");
      // 0, 1, 2 …: the order in which fallbacks are tried
      table.integer("position").notNullable();
      table.string("fallback_model_id", 300).notNullable().references("id").inTable("models").onDelete("CASCADE");
      table.bigInteger("updated_at").notNullable();
      table.primary(["model_id", "position"]);
      table.unique(["model_id", "fallback_model_id"]);
      table.index(["fallback_model_id"]);
    });
  }

  if (knex.client.config.client === "pg" && !(await knex.schema.hasTable("rate_limits"))) {
    await knex.schema.createTable("rate_limits", (table) => {
      table.string("key", 255).primary();
      table.integer("points").notNullable().defaultTo(0);
      // epoch ms; null: never expires
      table.bigInteger("expire").nullable();
      table.index(["expire"]);
    });
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists("rate_limits");
  await knex.schema.dropTableIfExists("model_fallbacks");
  // Plain DROP INDEX and ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35 and PostgreSQL): knex's SQLite helper
  // would copy and recreate the users table, and dropping the old one would cascade to every conversation.
  for (const column of ["name_skeleton", "name_skeleton_lower", "name_skeleton_upper"]) {
    await knex.raw(`DROP INDEX IF EXISTS users_${column}_index`);
    if (await knex.schema.hasColumn("users", column)) await knex.raw(`ALTER TABLE users DROP COLUMN ${column}`);
  }
}

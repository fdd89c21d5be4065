import type { Knex } from "knex";

/**
 * Rewrites every context snapshot of the first format into the compact record (version 2).
 *
 * The first format listed the id of every message an answer saw (`includedMessageIds`) and every
 * one left out (`droppedMessageIds`): storage grew with the square of a conversation's length and a
 * single snapshot reached hundreds of kilobytes. Version 2 names only the first and last message
 * sent (the branch between them is the rest) and counts the others.
 *
 * Rows are streamed in small batches by primary key, so memory stays bounded whatever the table
 * holds (old snapshots are up to ≈ 400 KB each). Rows already in version 2 are not selected, and a
 * snapshot this migration cannot read is left as it is (the server shows it as no record): running
 * it again is harmless. Self-contained on purpose: a migration must not change meaning when the
 * application code it would import changes later.
 *
 * Down leaves version 2 records in place: the lists of ids cannot be recovered without walking every
 * branch, and the old server reads a record it does not know as "no record".
 */

const BATCH_SIZE = 32;
const RECORD_MAX_BYTES = 2048;
const ADJUSTMENTS_MAX = 12;
const ADJUSTMENT_MAX_LENGTH = 300;
/** The system prompt every answer of the first format was sent (its text is served by id). */
const SYSTEM_PROMPT_ID = "juggler-default-v1";
const providerKinds = new Set(["anthropic", "groq", "ollama"]);

interface FirstFormatSnapshot {
  modelId: string;
  contextWindowTokens: number | null;
  reservedOutputTokens: number;
  estimatedInputTokens: number;
  includedMessageIds: string[];
  droppedMessageIds: string[];
  adjustments: string[];
}

interface SnapshotRow {
  id: string;
  provider: string | null;
  context_snapshot: string;
}

export async function up(knex: Knex): Promise<void> {
  let after = "";
  for (;;) {
    const rows: SnapshotRow[] = await knex("messages")
      .select("id", "provider", "context_snapshot")
      .whereNotNull("context_snapshot")
      .andWhere("id", ">", after)
      // version 2 records start with their version field (JSON.stringify keeps key order)
      .andWhereRaw("context_snapshot NOT LIKE ?", ['{"version":%'])
      .orderBy("id")
      .limit(BATCH_SIZE);
    if (rows.length === 0) return;
    after = rows[rows.length - 1]!.id;

    const readable = rows.flatMap((row) => {
      const snapshot = readFirstFormat(row.context_snapshot);
      return snapshot === undefined ? [] : [{ row, snapshot }];
    });
    const endIds = new Set<string>();
    for (const { snapshot } of readable) {
      const ids = snapshot.includedMessageIds;
      if (ids.length > 0) endIds.add(ids[0]!).add(ids[ids.length - 1]!);
    }
    const depths = new Map<string, number>();
    if (endIds.size > 0) {
      const found: Array<{ id: string; depth: number | null }> = await knex("messages")
        .select("id", "depth")
        .whereIn("id", [...endIds]);
      for (const entry of found) if (entry.depth !== null) depths.set(entry.id, Number(entry.depth));
    }
    for (const { row, snapshot } of readable) {
      const record = toCompactRecord(snapshot, row.provider, depths);
      if (record !== undefined) await knex("messages").where({ id: row.id }).update({ context_snapshot: record });
    }
  }
}

export async function down(): Promise<void> {
  // see above: version 2 records stay
}

function readFirstFormat(text: string): FirstFormatSnapshot | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const snapshot = value as Record<string, unknown>;
  const isStringArray = (field: unknown): field is string[] => Array.isArray(field) && field.every((entry) => typeof entry === "string");
  const isInteger = (field: unknown): field is number => typeof field === "number" && Number.isInteger(field);
  if (
    typeof snapshot.modelId !== "string" ||
    !(snapshot.contextWindowTokens === null || isInteger(snapshot.contextWindowTokens)) ||
    !isInteger(snapshot.reservedOutputTokens) ||
    !isInteger(snapshot.estimatedInputTokens) ||
    !isStringArray(snapshot.includedMessageIds) ||
    !isStringArray(snapshot.droppedMessageIds) ||
    !isStringArray(snapshot.adjustments)
  ) {
    return undefined;
  }
  return snapshot as unknown as FirstFormatSnapshot;
}

function toCompactRecord(snapshot: FirstFormatSnapshot, rowProvider: string | null, depths: Map<string, number>): string | undefined {
  const provider = rowProvider !== null && providerKinds.has(rowProvider) ? rowProvider : snapshot.modelId.split(":")[0];
  if (provider === undefined || !providerKinds.has(provider)) return undefined;
  const included = snapshot.includedMessageIds;
  const firstMessageId = included[0] ?? null;
  const lastMessageId = included[included.length - 1] ?? null;
  const firstDepth = firstMessageId === null ? undefined : depths.get(firstMessageId);
  const lastDepth = lastMessageId === null ? undefined : depths.get(lastMessageId);
  // the stretch between the two ends (answers skipped for having no text were not listed as included)
  const includedMessageCount =
    firstDepth !== undefined && lastDepth !== undefined && lastDepth >= firstDepth ? lastDepth - firstDepth + 1 : included.length;
  const record = {
    version: 2,
    modelId: snapshot.modelId,
    provider,
    contextWindowTokens: snapshot.contextWindowTokens,
    reservedOutputTokens: snapshot.reservedOutputTokens,
    systemPromptId: SYSTEM_PROMPT_ID,
    firstMessageId,
    lastMessageId,
    includedMessageCount,
    summary: null,
    leftOutMessageCount: snapshot.droppedMessageIds.length,
    adjustments: snapshot.adjustments.slice(0, ADJUSTMENTS_MAX).map((note) => note.slice(0, ADJUSTMENT_MAX_LENGTH)),
    settings: { maxOutputTokens: snapshot.reservedOutputTokens, temperature: null },
    estimatedInputTokens: snapshot.estimatedInputTokens,
  };
  let text = JSON.stringify(record);
  while (Buffer.byteLength(text) > RECORD_MAX_BYTES && record.adjustments.length > 0) {
    record.adjustments.pop();
    text = JSON.stringify(record);
  }
  return text;
}

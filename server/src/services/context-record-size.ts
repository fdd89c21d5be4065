import type { ContextRecord } from "../../../protocol/http/conversations";

/** A context record is stored with every answer; it stays this small whatever the conversation's length. */
export const CONTEXT_RECORD_MAX_BYTES = 2048;

/**
 * The record trimmed to at most CONTEXT_RECORD_MAX_BYTES of JSON. Everything but the adjustments is
 * bounded by the schema (ids, counts, model ids of at most 300 characters), so when the notes would
 * take the record over, the last ones give way to a final note saying how many were left out.
 */
export function limitContextRecordSize(record: ContextRecord): ContextRecord {
  if (byteLengthOf(record) <= CONTEXT_RECORD_MAX_BYTES) return record;
  const kept = [...record.adjustments];
  while (kept.length > 0) {
    kept.pop();
    const droppedCount = record.adjustments.length - kept.length;
    const trimmed = { ...record, adjustments: [...kept, `…and ${droppedCount} more adjustment${droppedCount === 1 ? "" : "s"}`] };
    if (byteLengthOf(trimmed) <= CONTEXT_RECORD_MAX_BYTES) return trimmed;
  }
  return { ...record, adjustments: [] };
}

function byteLengthOf(record: ContextRecord): number {
  return Buffer.byteLength(JSON.stringify(record));
}

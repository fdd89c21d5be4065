/**
 * Search documents are numbered per owner: id = owner key × 2^OWNER_KEY_SHIFT + a sequence. One user's
 * documents are then one range of ids, which is how a search reads only the searcher's documents
 * (migration 0009). Ids stay below 2^53, so JavaScript numbers hold them exactly (both drivers give
 * numbers): 2^36 ≈ 68 billion documents (PostgreSQL: in all, one sequence) and 2^17 = 131,072 owners.
 */
export const OWNER_KEY_SHIFT = 36;

/** The ids [first, last] an owner's documents can have. */
export function ownerDocumentRange(ownerKey: number): { first: number; last: number } {
  const first = ownerKey * 2 ** OWNER_KEY_SHIFT;
  return { first, last: first + 2 ** OWNER_KEY_SHIFT - 1 };
}

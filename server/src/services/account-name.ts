import unhomoglyph from "unhomoglyph";
import { accountNameSchema, NAME_MAX_LENGTH } from "../../../protocol/http/accounts";

/** An account name as stored, and the two forms it is compared by. */
export interface AccountName {
  /** NFKC: compatibility forms folded (ｊｏｅ → joe, ﬁ → fi), so one name has one spelling. */
  name: string;
  /** Lower-cased: names are unique case-insensitively; the unique key on every database. */
  nameKey: string;
  /**
   * How the name looks as written, in small letters and in capitals: Unicode's confusable characters
   * folded to one prototype each (UTS #39 skeletons: Cyrillic а and Latin a, rn and m, 0 and O,
   * 1 and I and l …). Names are one whatever their case, and letters look alike in one case and not
   * the other (Cyrillic Т and T, but not т and t), so each form is compared with the same form of
   * the others: two names with one of them in common would pass for each other, and the second is refused.
   */
  skeletons: NameSkeletons;
}

export interface NameSkeletons {
  written: string;
  lower: string;
  upper: string;
}

/** The skeleton column's size. */
const SKELETON_MAX_LENGTH = 255;

/**
 * The stored form of a name typed at registration or sign-in, or the problem with it. Normalising
 * can change a name (ⅸ becomes ix, ½ becomes 1⁄2), so the rules are checked again on the result,
 * and lengths too: a key longer than its column would fail on PostgreSQL.
 */
export function normaliseAccountName(typed: string): AccountName | { problem: string } {
  const parsed = accountNameSchema.safeParse(typed.trim().normalize("NFKC"));
  if (!parsed.success) return { problem: `name: ${parsed.error.issues[0]?.message ?? "not a valid name"}` };
  const name = parsed.data;
  const nameKey = nameKeyOf(name);
  const skeletons = skeletonsOf(name);
  if (nameKey.length > NAME_MAX_LENGTH || Object.values(skeletons).some((skeleton) => skeleton.length > SKELETON_MAX_LENGTH)) {
    return { problem: `name: Name must be at most ${NAME_MAX_LENGTH} characters` };
  }
  return { name, nameKey, skeletons };
}

/** The unique key of an (already NFKC) name. */
export function nameKeyOf(name: string): string {
  return name.toLowerCase().normalize("NFKC");
}

/** The skeletons of a name as written, and of its small-letter and capital forms. */
export function skeletonsOf(name: string): NameSkeletons {
  return { written: skeletonOf(name), lower: skeletonOf(name.toLowerCase()), upper: skeletonOf(name.toUpperCase()) };
}

/**
 * UTS #39's skeleton: NFD, the confusables mapping (unhomoglyph carries Unicode's confusables.txt),
 * NFD again. Case is kept: the mapping is about looks, and those depend on case.
 */
function skeletonOf(text: string): string {
  return unhomoglyph(text.normalize("NFD")).normalize("NFD");
}

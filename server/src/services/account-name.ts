import { accountNameSchema, NAME_MAX_LENGTH } from "../../../protocol/http/accounts";
import { loadOnce } from "../providers/load-once";

/** An account name as stored, and the two forms it is compared by. */
export interface AccountName {
  /** NFKC: compatibility forms folded (ｊｏｅ → joe, ﬁ → fi), so one name has one spelling. */
  name: string;
  /** Lower-cased: names are unique case-insensitively; the unique key on every database. */
  nameKey: string;
}

/** How a name looks (see NameSkeletons): what registration compares besides the key. */
export interface AccountNameLooks {
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
  if (nameKey.length > NAME_MAX_LENGTH) return { problem: `name: Name must be at most ${NAME_MAX_LENGTH} characters` };
  return { name, nameKey };
}

/** A normalised name's looks, or the problem with them (a skeleton longer than its column). */
export async function describeNameLooks(name: string): Promise<AccountNameLooks | { problem: string }> {
  const skeletons = await skeletonsOf(name);
  if (Object.values(skeletons).some((skeleton) => skeleton.length > SKELETON_MAX_LENGTH)) {
    return { problem: `name: Name must be at most ${NAME_MAX_LENGTH} characters` };
  }
  return { skeletons };
}

/** The unique key of an (already NFKC) name. */
export function nameKeyOf(name: string): string {
  return name.toLowerCase().normalize("NFKC");
}

/**
 * The confusables mapping (unhomoglyph carries Unicode's confusables.txt, ≈ 6 MB once loaded): only
 * registrations need it, so a server whose members only sign in never loads it.
 */
const loadConfusables = loadOnce(async () => (await import("unhomoglyph")).default);

/** The skeletons of a name as written, and of its small-letter and capital forms. */
export async function skeletonsOf(name: string): Promise<NameSkeletons> {
  const unhomoglyph = await loadConfusables();
  // UTS #39's skeleton: NFD, the mapping, NFD again. Case is kept: the mapping is about looks, which depend on case.
  const skeletonOf = (text: string) => unhomoglyph(text.normalize("NFD")).normalize("NFD");
  return { written: skeletonOf(name), lower: skeletonOf(name.toLowerCase()), upper: skeletonOf(name.toUpperCase()) };
}

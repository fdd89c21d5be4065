import crypto from "node:crypto";
import { promisify } from "node:util";

const scrypt = promisify(crypto.scrypt) as (
  password: crypto.BinaryLike,
  salt: crypto.BinaryLike,
  keyLength: number,
  options: crypto.ScryptOptions,
) => Promise<Buffer>;

/**
 * scrypt cost for new hashes. N = 2^15, r = 8 costs 32 MiB and roughly 50–100 ms per hash on a
 * laptop core, run on libuv's thread pool so the event loop stays free. The parameters travel
 * inside every stored hash, so raising them later keeps old hashes verifiable.
 */
export const currentScryptParameters = { cost: 2 ** 15, blockSize: 8, parallelization: 1 } as const;
const saltBytes = 16;
const keyBytes = 32;

interface ScryptParameters {
  cost: number;
  blockSize: number;
  parallelization: number;
}

/** Node's default maxmem (32 MiB) is exactly 128·N·r for N = 2^15, r = 8, which it refuses; allow twice the need. */
function memoryLimitFor(parameters: ScryptParameters): number {
  return 256 * parameters.cost * parameters.blockSize + 1024 * 1024;
}

// Unicode passwords typed on different systems may arrive composed or decomposed.
const normalise = (password: string) => password.normalize("NFC");

async function derive(password: string, salt: Buffer, parameters: ScryptParameters, length: number): Promise<Buffer> {
  return scrypt(normalise(password), salt, length, {
    N: parameters.cost,
    r: parameters.blockSize,
    p: parameters.parallelization,
    maxmem: memoryLimitFor(parameters),
  });
}

/** `scrypt$N$r$p$<salt base64url>$<hash base64url>` with a fresh random salt. */
export async function hashPassword(password: string, parameters: ScryptParameters = currentScryptParameters): Promise<string> {
  const salt = crypto.randomBytes(saltBytes);
  const hash = await derive(password, salt, parameters, keyBytes);
  return [
    "scrypt",
    parameters.cost,
    parameters.blockSize,
    parameters.parallelization,
    salt.toString("base64url"),
    hash.toString("base64url"),
  ].join("$");
}

interface ParsedHash {
  parameters: ScryptParameters;
  salt: Buffer;
  hash: Buffer;
}

function parseHash(stored: string): ParsedHash | undefined {
  const parts = stored.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return undefined;
  const [cost, blockSize, parallelization] = parts.slice(1, 4).map((part) => Number.parseInt(part, 10));
  if (cost === undefined || blockSize === undefined || parallelization === undefined) return undefined;
  // Bounds keep a corrupted row from asking scrypt for gigabytes.
  const isPowerOfTwo = cost > 1 && (cost & (cost - 1)) === 0;
  if (!isPowerOfTwo || cost > 2 ** 20 || blockSize < 1 || blockSize > 32 || parallelization < 1 || parallelization > 16) return undefined;
  const salt = Buffer.from(parts[4] ?? "", "base64url");
  const hash = Buffer.from(parts[5] ?? "", "base64url");
  if (salt.length < 8 || hash.length < 16) return undefined;
  return { parameters: { cost, blockSize, parallelization }, salt, hash };
}

/** Constant-time comparison of the derived key against the stored one. A malformed stored hash never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parseHash(stored);
  if (parsed === undefined) {
    // Still do the work, so a broken row is not told apart by timing.
    await burnEquivalentWork(password);
    return false;
  }
  const candidate = await derive(password, parsed.salt, parsed.parameters, parsed.hash.length);
  return crypto.timingSafeEqual(candidate, parsed.hash);
}

/** True when a stored hash uses weaker parameters than today's, so it should be re-hashed after a successful sign-in. */
export function needsRehash(stored: string): boolean {
  const parsed = parseHash(stored);
  if (parsed === undefined) return true;
  return (
    parsed.parameters.cost < currentScryptParameters.cost ||
    parsed.parameters.blockSize < currentScryptParameters.blockSize ||
    parsed.parameters.parallelization < currentScryptParameters.parallelization
  );
}

let dummyHash: Promise<string> | undefined;

/**
 * The same scrypt work as checking a real password, for sign-in attempts with an unknown name:
 * answering those faster than a wrong password would tell an attacker which names exist.
 */
export async function burnEquivalentWork(password: string): Promise<void> {
  prepareEquivalentWork();
  const parsed = parseHash(await (dummyHash as Promise<string>));
  if (parsed === undefined) return;
  const candidate = await derive(password, parsed.salt, parsed.parameters, parsed.hash.length);
  crypto.timingSafeEqual(candidate, parsed.hash);
}

/** Computes the dummy hash ahead of the first unknown-name sign-in, so even that one costs the same as the rest. */
export function prepareEquivalentWork(): void {
  dummyHash ??= hashPassword(crypto.randomBytes(16).toString("base64url"));
}

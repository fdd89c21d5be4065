import { z } from "zod";
import { userSchema } from "../../../protocol/http/accounts";

/**
 * What is kept of a signed-in session between windows and reloads. In VS Code it lives only in
 * SecretStorage (surfaces/secret-token-store.ts); tests keep it in memory. The schema is built on
 * first use, not when the bundle loads (see tools/build.mjs, lazy protocol).
 */
function buildStoredSessionSchema() {
  return z.object({
    serverUrl: z.string(),
    user: userSchema,
    accessToken: z.string(),
    accessTokenExpiresAt: z.string(),
    refreshToken: z.string(),
    refreshTokenExpiresAt: z.string(),
  });
}
let storedSessionSchema: ReturnType<typeof buildStoredSessionSchema> | undefined;
export type StoredSession = z.infer<ReturnType<typeof buildStoredSessionSchema>>;

export interface TokenStore {
  get(): Promise<StoredSession | undefined>;
  set(session: StoredSession): Promise<void>;
  delete(): Promise<void>;
}

/** A TokenStore in memory: for tests and for a client that must not persist anything. */
export class MemoryTokenStore implements TokenStore {
  constructor(private session?: StoredSession) {}

  async get(): Promise<StoredSession | undefined> {
    return this.session;
  }

  async set(session: StoredSession): Promise<void> {
    this.session = session;
  }

  async delete(): Promise<void> {
    this.session = undefined;
  }
}

/** Reads a stored value written by any version of the extension; a shape we do not know is treated as no session. */
export function parseStoredSession(text: string | undefined): StoredSession | undefined {
  if (!text) return undefined;
  try {
    storedSessionSchema ??= buildStoredSessionSchema();
    const parsed = storedSessionSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

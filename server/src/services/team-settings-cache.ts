import type { TeamSettings } from "../../../protocol/http/accounts";

/** How long the team settings are trusted before they are read again; a change made through this server is seen at once. */
export const TEAM_SETTINGS_MAX_AGE_MS = 2_000;

/**
 * The team settings for requests that only show or use them (`/meta`'s registration policy, the
 * summariser of a send), read from the database at most every 2 s and forgotten when an admin changes
 * them here. On SQLite a read waits for the one connection, so without this every `/meta` queued
 * behind whatever transaction was running (a send's context walk), and a send would query before its
 * transaction. Sign-up still reads the policy inside its own transaction: enforcement never uses this.
 * The 2 s bound only matters for a change made outside this process (another server, a hand edit).
 */
export class TeamSettingsCache {
  private cached: { settings: TeamSettings; readAt: number } | undefined;
  private reading: Promise<TeamSettings> | undefined;
  /** Bumped by forget(), so a read that started before a change does not fill the cache with the old value. */
  private generation = 0;

  constructor(
    private readonly source: { getTeamSettings(): Promise<TeamSettings> },
    private readonly now: () => number,
    /** Tells the other server instances (they forget theirs too). */
    private readonly announceChange: () => void = () => undefined,
  ) {}

  async get(): Promise<TeamSettings> {
    if (this.cached && this.now() - this.cached.readAt < TEAM_SETTINGS_MAX_AGE_MS) return this.cached.settings;
    if (this.reading) return this.reading;
    const generation = this.generation;
    const reading = this.source.getTeamSettings().then((settings) => {
      if (generation === this.generation) this.cached = { settings, readAt: this.now() };
      return settings;
    });
    this.reading = reading;
    const settle = () => {
      if (this.reading === reading) this.reading = undefined;
    };
    reading.then(settle, settle);
    return reading;
  }

  /** After an admin changed a setting here: the next read goes to the database, here and on every other instance. */
  forget(): void {
    this.forgetHere();
    this.announceChange();
  }

  /** Another instance changed the settings. */
  forgetHere(): void {
    this.cached = undefined;
    this.reading = undefined;
    this.generation += 1;
  }
}

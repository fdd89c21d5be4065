import assert from "node:assert/strict";
import type { TeamSettings } from "../../protocol/http/accounts";
import { TEAM_SETTINGS_MAX_AGE_MS, TeamSettingsCache } from "../../server/src/services/team-settings-cache";

describe("TeamSettingsCache", () => {
  let time = 0;
  let reads = 0;
  let stored: TeamSettings = { registration: "open", summariserModelId: null };
  let release: (() => void) | undefined;
  const source = {
    getTeamSettings: async (): Promise<TeamSettings> => {
      reads += 1;
      const value = stored;
      if (release === undefined) return value;
      await new Promise<void>((resolve) => (release = resolve));
      return value;
    },
  };

  beforeEach(() => {
    time = 0;
    reads = 0;
    stored = { registration: "open", summariserModelId: null };
    release = undefined;
  });

  it("reads the database at most once per max age, and one read serves callers that arrive together", async () => {
    const cache = new TeamSettingsCache(source, () => time);
    const [first, second] = await Promise.all([cache.get(), cache.get()]);
    assert.deepEqual(first, second);
    assert.equal(reads, 1);
    stored = { registration: "closed", summariserModelId: null };
    time += TEAM_SETTINGS_MAX_AGE_MS - 1;
    assert.equal((await cache.get()).registration, "open", "still fresh");
    time += 1;
    assert.equal((await cache.get()).registration, "closed");
    assert.equal(reads, 2);
  });

  it("after forget(), the next read goes to the database, and a read begun before does not refill the cache", async () => {
    const cache = new TeamSettingsCache(source, () => time);
    release = () => undefined;
    const before = cache.get();
    stored = { registration: "approval", summariserModelId: "ollama:small" };
    cache.forget();
    release!();
    assert.equal((await before).registration, "open");
    release = undefined;
    assert.deepEqual(await cache.get(), { registration: "approval", summariserModelId: "ollama:small" });
    assert.equal(reads, 2);
  });
});

import { stopTestPostgres } from "./postgres";

/** Mocha root hooks: shared resources started lazily by suites are stopped once at the end. */
export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    await stopTestPostgres();
  },
};

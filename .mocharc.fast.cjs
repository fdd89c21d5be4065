// `npm run test:fast`: the tests that need neither Chromium nor code-server, in parallel worker
// processes (most of their time is spent waiting on sockets, timers and PostgreSQL, not the CPU).
// One PostgreSQL is shared by the workers (test/support/shared-postgres-fixture.ts).
const base = require("./.mocharc.json");

process.env.JUGGLER_SHARED_TEST_POSTGRES = "1";

module.exports = {
  ...base,
  spec: ["test/{protocol,server,extension,tools}/**/*.test.ts"],
  parallel: true,
  jobs: 4,
};

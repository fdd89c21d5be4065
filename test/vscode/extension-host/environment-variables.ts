/**
 * Names of the environment variables through which ../extension-host.test.ts (mocha, plain Node)
 * tells the tests inside the extension host where the team server and the fakes are. No `vscode`
 * import here: both sides load this file.
 */
export const ENVIRONMENT_VARIABLES = {
  serverUrl: "JUGGLER_TEST_SERVER_URL",
  userName: "JUGGLER_TEST_USER_NAME",
  password: "JUGGLER_TEST_PASSWORD",
  /** JSON: visible model ids per provider, answering ones first (from configureFakeProviders). */
  models: "JUGGLER_TEST_MODELS",
  /** JSON: base URL of each fake provider. */
  fakeUrls: "JUGGLER_TEST_FAKE_URLS",
  workspaceFolder: "JUGGLER_TEST_WORKSPACE",
} as const;

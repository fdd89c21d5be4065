import assert from "node:assert/strict";
import path from "node:path";
import { ESLint } from "eslint";

/**
 * The walls between the sides (docs/decisions/0008-walls-and-linting.md), checked the way
 * `npm run check` checks them: each probe is linted with the project's own ESLint config as if it
 * were a file at that path, and must be refused there, by the rule that states the wall. A probe
 * that lints clean means a wall has a hole.
 */
describe("walls: a file that crosses one is refused by the linter", function () {
  this.timeout(120_000);
  const eslint = new ESLint({ cwd: path.resolve(__dirname, "../..") });

  async function rulesBroken(filePath: string, code: string): Promise<string[]> {
    const [result] = await eslint.lintText(code, { filePath });
    return (result?.messages ?? []).filter((message) => message.severity === 2).map((message) => message.ruleId ?? "(parse error)");
  }

  const probes: Array<{ wall: string; filePath: string; code: string; rule: string }> = [
    {
      wall: "webview → the VS Code API",
      filePath: "webview/src/chat/wall-probe.ts",
      code: 'import * as vscode from "vscode";\nexport const probe: unknown = vscode;\n',
      rule: "no-restricted-imports",
    },
    {
      wall: "webview → the VS Code API, imported dynamically",
      filePath: "webview/src/chat/wall-probe.ts",
      code: 'export const probe = (): Promise<unknown> => import("vscode");\n',
      rule: "no-restricted-syntax",
    },
    {
      wall: "webview → a Node module",
      filePath: "webview/src/chat/wall-probe.ts",
      code: 'import fs from "node:fs";\nexport const probe: unknown = fs;\n',
      rule: "no-restricted-imports",
    },
    {
      wall: "webview → extension code",
      filePath: "webview/src/chat/wall-probe.ts",
      code: 'import type { ChatSession } from "../../../extension/src/chat/chat-session";\nexport type Probe = ChatSession;\n',
      rule: "boundaries/dependencies",
    },
    {
      wall: "protocol → a Node module",
      filePath: "protocol/http/wall-probe.ts",
      code: 'import crypto from "node:crypto";\nexport const probe: unknown = crypto;\n',
      rule: "no-restricted-imports",
    },
    {
      wall: "extension core → the VS Code API",
      filePath: "extension/src/chat/wall-probe.ts",
      code: 'import * as vscode from "vscode";\nexport const probe: unknown = vscode;\n',
      rule: "no-restricted-imports",
    },
    {
      wall: "service → the DOM",
      filePath: "server/src/services/wall-probe.ts",
      code: "export const probe = (): unknown => document.title;\n",
      rule: "no-restricted-globals",
    },
    {
      wall: "route → storage",
      filePath: "server/src/routes/wall-probe.ts",
      code: 'import { UserRepository } from "../storage/user-repository";\nexport const probe: unknown = UserRepository;\n',
      rule: "boundaries/dependencies",
    },
    {
      wall: "http → services",
      filePath: "server/src/http/wall-probe.ts",
      code: 'import { AccountService } from "../services/account-service";\nexport const probe: unknown = AccountService;\n',
      rule: "boundaries/dependencies",
    },
    {
      wall: "product code → tests",
      filePath: "server/src/services/wall-probe.ts",
      code: 'import { createTestDatabase } from "../../../test/support/postgres";\nexport const probe: unknown = createTestDatabase;\n',
      rule: "boundaries/dependencies",
    },
    {
      wall: "bench → tests",
      filePath: "bench/wall-probe.ts",
      code: 'import { createTestDatabase } from "../test/support/postgres";\nexport const probe: unknown = createTestDatabase;\n',
      rule: "boundaries/dependencies",
    },
  ];

  for (const probe of probes) {
    it(`refuses ${probe.wall}`, async () => {
      const broken = await rulesBroken(probe.filePath, probe.code);
      assert.ok(broken.includes(probe.rule), `${probe.filePath} should break ${probe.rule}; it broke [${broken.join(", ")}]`);
    });
  }

  it("lets each side import what it may (the probes fail for the crossing, not for being probes)", async () => {
    const allowed: Array<[string, string]> = [
      [
        "webview/src/chat/wall-probe.ts",
        'import { parseHttpUrl } from "../../../protocol/parse-http-url";\nexport const probe: unknown = parseHttpUrl;\n',
      ],
      ["extension/src/surfaces/wall-probe.ts", 'import * as vscode from "vscode";\nexport const probe: unknown = vscode;\n'],
      ["server/src/routes/wall-probe.ts", 'import type { Services } from "../services/services";\nexport type Probe = Services;\n'],
    ];
    for (const [filePath, code] of allowed) assert.deepEqual(await rulesBroken(filePath, code), [], filePath);
  });
});

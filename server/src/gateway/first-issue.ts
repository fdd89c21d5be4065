import type { z } from "zod";

/**
 * The first problem zod found in a request, as one sentence naming the field the way the APIs do
 * (`messages[2].content`), so a client sees which part of its request to fix.
 */
export function firstIssue(error: z.ZodError): { message: string; param: string | undefined } {
  const issue = error.issues[0];
  if (issue === undefined) return { message: "The request is not valid", param: undefined };
  const param = issue.path.reduce<string>(
    (path, key) => (typeof key === "number" ? `${path}[${key}]` : path === "" ? String(key) : `${path}.${String(key)}`),
    "",
  );
  if (param === "") return { message: issue.message, param: undefined };
  const isMissing = issue.code === "invalid_type" && /received undefined/i.test(issue.message);
  return { message: isMissing ? `${param}: required` : `${param}: ${issue.message}`, param };
}

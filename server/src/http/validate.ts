import type { z } from "zod";
import { AppError } from "../domain/app-error";

/**
 * Parses input with a protocol schema; failures become a 400 naming the problem fields.
 * A text over its length limit is a 413, so a client can tell "too long" from "malformed".
 */
export function validate<Schema extends z.ZodType>(schema: Schema, input: unknown): z.infer<Schema> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues;
  const problems = issues
    .slice(0, 5)
    .map((issue) => (issue.path.length > 0 ? `${issue.path.join(".")}: ${issue.message}` : issue.message))
    .join("; ");
  const isTooLong = issues.some((issue) => issue.code === "too_big" && issue.origin === "string");
  throw isTooLong ? new AppError(413, "payload_too_large", problems) : new AppError(400, "validation_failed", problems);
}

import { z } from "zod";
import { usageBucketSchema, usageDimensionSchema, usageResponseSchema } from "../http/usage";

/**
 * Webview ⇄ extension host messages of the "Juggler: Show Usage" panel (same envelopes as the other
 * views, envelope.ts). The panel asks for usage through the host, which calls `GET /api/v1/usage`
 * with the signed-in session (members see only their own figures: the server enforces it); the CSV
 * of what is shown is made in the panel and written by the host, after a save dialog.
 */

const emptyParamsSchema = z.object({});
const isoDateSchema = z.iso.date("must be a date YYYY-MM-DD");

/** At most this much CSV is written in one export (a 400-day range by hour is far less). */
export const USAGE_CSV_MAX_CHARACTERS = 20_000_000;

export const usageViewerSchema = z.object({
  userName: z.string(),
  isAdmin: z.boolean(),
  /** Admins: every account, to look at one member's figures; members: empty. */
  users: z.array(z.object({ id: z.string(), name: z.string() })),
});
export type UsageViewer = z.infer<typeof usageViewerSchema>;

export const usageQueryParamsSchema = z.object({
  from: isoDateSchema,
  to: isoDateSchema,
  /** At most one time bucket, and any of the dimensions, as `GET /usage` takes them. */
  groupBy: z.array(z.union([usageBucketSchema, usageDimensionSchema])).max(5),
  /** Admins: one member. */
  userId: z.string().min(1).max(36).optional(),
});
export type UsageQueryParams = z.infer<typeof usageQueryParamsSchema>;

export const usageRequests = {
  /** Who is looking: a member's panel offers no per-user grouping. */
  "viewer/get": { params: emptyParamsSchema, result: usageViewerSchema },
  /** GET /usage */
  "usage/query": { params: usageQueryParamsSchema, result: usageResponseSchema },
  /** Writes the CSV the panel made to a file the user picks; `saved: false` when they cancelled. */
  "csv/save": {
    params: z.object({
      suggestedFileName: z
        .string()
        .min(1)
        .max(200)
        .regex(/^[\w .-]+\.csv$/, "a plain file name ending in .csv"),
      content: z.string().max(USAGE_CSV_MAX_CHARACTERS),
    }),
    result: z.object({ saved: z.boolean(), fileName: z.string().optional() }),
  },
} as const;

export const usageCommands = {
  /** The panel's script is running; it then loads its data with requests. */
  "webview/ready": emptyParamsSchema,
} as const;

export const usageNotifications = {
  /** The account changed or an answer ended: load again. */
  "data/invalidated": z.object({ reason: z.string().max(500).optional() }),
} as const;

export type UsageRequestName = keyof typeof usageRequests;

import { z } from "zod";
import { registrationPolicySchema } from "./accounts";

/** Bumped on any incompatible change to the HTTP API; the extension refuses a server of another major. */
export const API_VERSION = 1;

export const metaResponseSchema = z.object({
  name: z.literal("juggler-team-server"),
  serverVersion: z.string(),
  apiVersion: z.number().int(),
  registration: registrationPolicySchema,
});
export type MetaResponse = z.infer<typeof metaResponseSchema>;

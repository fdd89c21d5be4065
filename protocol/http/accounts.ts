import { z } from "zod";
import { modelIdSchema } from "./models";

export const NAME_MAX_LENGTH = 64;
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 256;

export const registrationPolicySchema = z.enum(["open", "approval", "closed"]);
export type RegistrationPolicy = z.infer<typeof registrationPolicySchema>;

export const userRoleSchema = z.enum(["admin", "member"]);
export type UserRole = z.infer<typeof userRoleSchema>;

export const userStatusSchema = z.enum(["active", "pending", "disabled"]);
export type UserStatus = z.infer<typeof userStatusSchema>;

/** Account names: letters, digits, dot, dash, underscore; compared case-insensitively. */
export const accountNameSchema = z
  .string()
  .trim()
  .min(1, "Name is required")
  .max(NAME_MAX_LENGTH, `Name must be at most ${NAME_MAX_LENGTH} characters`)
  .regex(/^[\p{L}\p{N}._-]+$/u, "Name may contain letters, digits, dot, dash and underscore only");

export const passwordSchema = z
  .string()
  .min(PASSWORD_MIN_LENGTH, `Password must be at least ${PASSWORD_MIN_LENGTH} characters`)
  .max(PASSWORD_MAX_LENGTH, `Password must be at most ${PASSWORD_MAX_LENGTH} characters`);

export const userSchema = z.object({
  id: z.string(),
  name: z.string(),
  role: userRoleSchema,
  status: userStatusSchema,
  lastModelId: z.string().nullable(),
  createdAt: z.string(),
});
export type User = z.infer<typeof userSchema>;

export const credentialsRequestSchema = z.object({
  name: accountNameSchema,
  password: z.string().min(1, "Password is required").max(PASSWORD_MAX_LENGTH),
});
export type CredentialsRequest = z.infer<typeof credentialsRequestSchema>;

export const ADMIN_TOKEN_MAX_LENGTH = 200;

export const registerRequestSchema = z.object({
  name: accountNameSchema,
  password: passwordSchema,
  /**
   * The one-time admin token the server prints on start while it has no admin: the account made
   * with it is the team's first admin, whatever the registration policy.
   */
  adminToken: z.string().trim().min(1).max(ADMIN_TOKEN_MAX_LENGTH).optional(),
});
export type RegisterRequest = z.infer<typeof registerRequestSchema>;

/**
 * Register answers 202 with this whether the account was created, queued for approval, or not
 * created because the name (or a look-alike of it) is taken: the answer never tells which names
 * exist. The client signs in with the same name and password to learn the outcome (a session,
 * account_pending, or invalid_credentials when the name was not free).
 */
export const registrationAcceptedResponseSchema = z.object({
  status: z.literal("accepted"),
  message: z.string(),
});
export type RegistrationAcceptedResponse = z.infer<typeof registrationAcceptedResponseSchema>;

/** A signed-in session: a short-lived access token (JWT) and a rotating opaque refresh token. */
export const sessionResponseSchema = z.object({
  user: userSchema,
  accessToken: z.string(),
  accessTokenExpiresAt: z.string(),
  refreshToken: z.string(),
  refreshTokenExpiresAt: z.string(),
});
export type SessionResponse = z.infer<typeof sessionResponseSchema>;

export const refreshRequestSchema = z.object({ refreshToken: z.string().min(1).max(512) });
export type RefreshRequest = z.infer<typeof refreshRequestSchema>;

export const signOutRequestSchema = z.object({ refreshToken: z.string().min(1).max(512) });
export type SignOutRequest = z.infer<typeof signOutRequestSchema>;

export const changePasswordRequestSchema = z.object({
  currentPassword: z.string().min(1).max(PASSWORD_MAX_LENGTH),
  newPassword: passwordSchema,
});
export type ChangePasswordRequest = z.infer<typeof changePasswordRequestSchema>;

export const userResponseSchema = z.object({ user: userSchema });

export const updatePreferencesRequestSchema = z.object({
  lastModelId: z.string().min(1).max(300).nullable(),
});
export type UpdatePreferencesRequest = z.infer<typeof updatePreferencesRequestSchema>;

// ---- admin: users and registration ----

export const userListResponseSchema = z.object({ users: z.array(userSchema) });
export type UserListResponse = z.infer<typeof userListResponseSchema>;

export const updateUserRequestSchema = z
  .object({ status: userStatusSchema.optional(), role: userRoleSchema.optional() })
  .refine((value) => value.status !== undefined || value.role !== undefined, {
    message: "Give a status or a role to change",
  });
export type UpdateUserRequest = z.infer<typeof updateUserRequestSchema>;

export const teamSettingsSchema = z.object({
  registration: registrationPolicySchema,
  /**
   * The model that summarises older messages when a conversation no longer fits a model's window;
   * null: the cheapest visible model (a local Ollama model first).
   */
  summariserModelId: z.string().max(300).nullable(),
});
export type TeamSettings = z.infer<typeof teamSettingsSchema>;
export const updateTeamSettingsRequestSchema = z.object({
  registration: registrationPolicySchema.optional(),
  summariserModelId: modelIdSchema.nullable().optional(),
});

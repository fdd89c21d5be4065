/** The signed-in, active account a request acts for (what authentication establishes). */
export interface AuthenticatedUser {
  id: string;
  name: string;
  role: "admin" | "member";
}

import "@vscode-elements/elements/dist/vscode-button/index.js";
import type { UpdateUserRequest, User } from "../../../protocol/http/accounts";
import { describeRequestFailure } from "../host-bridge/host-request-error";
import { formatDate } from "./display-formats";
import { StatusLine } from "./status-line";
import type { TeamSettingsBridge } from "./team-settings-bridge";

const STATUS_LABELS: Record<User["status"], string> = { active: "Active", pending: "Waiting for approval", disabled: "Disabled" };
const STATUS_ORDER: Record<User["status"], number> = { pending: 0, active: 1, disabled: 2 };

/** The team's accounts: approve pending ones, disable or enable, make admin or member. */
export class UsersSection {
  readonly element: HTMLElement;
  private readonly tableBody: HTMLTableSectionElement;
  private readonly status = new StatusLine();
  private users: User[] = [];

  constructor(private readonly bridge: TeamSettingsBridge) {
    this.element = document.createElement("div");
    this.element.className = "users-section";
    const table = document.createElement("table");
    table.className = "users-table";
    const head = table.createTHead().insertRow();
    for (const heading of ["Name", "Role", "Status", "Joined", "Actions"]) {
      const cell = document.createElement("th");
      cell.scope = "col";
      cell.textContent = heading;
      head.append(cell);
    }
    this.tableBody = table.createTBody();
    this.element.append(this.status.element, table);
  }

  setUsers(users: readonly User[]): void {
    this.users = [...users];
    this.render();
  }

  private render(): void {
    const sorted = [...this.users].sort(
      (first, second) => STATUS_ORDER[first.status] - STATUS_ORDER[second.status] || first.name.localeCompare(second.name),
    );
    this.tableBody.replaceChildren(...sorted.map((user) => this.createRow(user)));
  }

  private createRow(user: User): HTMLTableRowElement {
    const row = document.createElement("tr");
    row.dataset.userId = user.id;
    row.className = `user-row user-row--${user.status}`;
    const name = row.insertCell();
    name.className = "user-row__name";
    name.textContent = user.name;
    row.insertCell().textContent = user.role === "admin" ? "Admin" : "Member";
    const status = row.insertCell();
    const pill = document.createElement("span");
    pill.className = `pill pill--${user.status}`;
    pill.textContent = STATUS_LABELS[user.status];
    status.append(pill);
    row.insertCell().textContent = formatDate(user.createdAt);
    // A box inside the cell: a flex table cell would lose its table layout (and its borders).
    const actions = document.createElement("div");
    actions.className = "user-row__actions";
    row.insertCell().append(actions);
    if (user.status === "pending") {
      actions.append(
        this.createAction("Approve", `Approve ${user.name}`, user, { status: "active" }, `${user.name} can now sign in.`, false),
        this.createAction("Reject", `Reject ${user.name}`, user, { status: "disabled" }, `${user.name}'s account is disabled.`),
      );
    } else if (user.status === "active") {
      actions.append(
        this.createAction("Disable", `Disable ${user.name}`, user, { status: "disabled" }, `${user.name}'s account is disabled.`),
      );
    } else {
      actions.append(this.createAction("Enable", `Enable ${user.name}`, user, { status: "active" }, `${user.name} can sign in again.`));
    }
    if (user.role === "member") {
      actions.append(
        this.createAction("Make admin", `Make ${user.name} an admin`, user, { role: "admin" }, `${user.name} is now an admin.`),
      );
    } else {
      actions.append(
        this.createAction("Make member", `Make ${user.name} a member`, user, { role: "member" }, `${user.name} is now a member.`),
      );
    }
    return row;
  }

  private createAction(text: string, label: string, user: User, change: UpdateUserRequest, done: string, isSecondary = true): HTMLElement {
    const button = document.createElement("vscode-button") as HTMLElement & { disabled: boolean };
    button.textContent = text;
    button.setAttribute("aria-label", label);
    if (isSecondary) button.setAttribute("secondary", "");
    button.addEventListener("click", () => void this.update(user, change, done, button));
    return button;
  }

  private async update(user: User, change: UpdateUserRequest, done: string, button: { disabled: boolean }): Promise<void> {
    button.disabled = true;
    this.status.show("progress", "Saving…");
    try {
      const { user: updated } = await this.bridge.request("user/update", { userId: user.id, ...change });
      this.users = this.users.map((existing) => (existing.id === updated.id ? updated : existing));
      this.status.show("success", done);
      this.render();
    } catch (error) {
      button.disabled = false;
      this.status.show("error", `Could not change ${user.name}: ${describeRequestFailure(error)}`);
    }
  }
}

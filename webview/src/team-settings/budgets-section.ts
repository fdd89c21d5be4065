import "@vscode-elements/elements/dist/vscode-button/index.js";
import { budgetLimitNames, type BudgetLimitName, type BudgetsResponse, type UserBudget } from "../../../protocol/http/budgets";
import { describeRequestFailure } from "../host-bridge/host-request-error";
import { budgetLimitLabels, describeLimit, formatLimitForInput, parseLimitInput } from "./budget-limit-input";
import { StatusLine } from "./status-line";
import type { TeamSettingsBridge } from "./team-settings-bridge";

/**
 * The team's budget (every member's limits unless they have their own) and each member's own limits.
 * A request over a limit is refused before any provider is called, with the limit and its reset.
 */
export class BudgetsSection {
  readonly element = document.createElement("div");
  private readonly teamFields = new Map<BudgetLimitName, HTMLInputElement>();
  private readonly teamSave = document.createElement("vscode-button");
  private readonly usersTable = document.createElement("table");
  private readonly status = new StatusLine();
  private budgets: BudgetsResponse | undefined;

  constructor(private readonly bridge: TeamSettingsBridge) {
    this.element.className = "budgets-section";
    const team = document.createElement("fieldset");
    team.className = "budget-team";
    const legend = document.createElement("legend");
    legend.textContent = "Team (everyone without limits of their own)";
    team.append(legend);
    for (const limit of budgetLimitNames) {
      const label = document.createElement("label");
      label.className = "budget-field";
      const input = document.createElement("input");
      input.type = "text";
      input.inputMode = "decimal";
      input.className = "budget-input";
      input.dataset.limit = limit;
      input.placeholder = "no limit";
      input.addEventListener("keydown", (event) => {
        if (event.key === "Enter") void this.saveTeam();
      });
      label.append(document.createTextNode(budgetLimitLabels[limit]), input);
      this.teamFields.set(limit, input);
      team.append(label);
    }
    this.teamSave.setAttribute("secondary", "");
    this.teamSave.textContent = "Save Team Budget";
    this.teamSave.addEventListener("click", () => void this.saveTeam());
    team.append(this.teamSave);
    const help = document.createElement("p");
    help.className = "field__help";
    help.textContent =
      "Monthly limits count the current UTC month. For a member: leave a field blank for the team's limit, or type none for no limit.";
    this.usersTable.className = "settings-table budgets-table";
    this.element.append(team, help, this.usersTable, this.status.element);
  }

  setBudgets(budgets: BudgetsResponse): void {
    this.budgets = budgets;
    for (const [limit, input] of this.teamFields) input.value = formatLimitForInput(budgets.team[limit], limit);
    const caption = document.createElement("caption");
    caption.className = "visually-hidden";
    caption.textContent = "Members' own limits";
    const head = document.createElement("thead");
    const headRow = document.createElement("tr");
    for (const text of ["Member", ...budgetLimitNames.map((limit) => budgetLimitLabels[limit]), ""]) {
      const cell = document.createElement("th");
      cell.scope = "col";
      cell.textContent = text;
      headRow.append(cell);
    }
    head.append(headRow);
    const body = document.createElement("tbody");
    for (const user of budgets.users) body.append(this.createUserRow(user, budgets));
    this.usersTable.replaceChildren(caption, head, body);
  }

  private createUserRow(user: UserBudget, budgets: BudgetsResponse): HTMLTableRowElement {
    const row = document.createElement("tr");
    row.dataset.userId = user.userId;
    const name = document.createElement("th");
    name.scope = "row";
    name.textContent = user.userName;
    row.append(name);
    const inputs = new Map<BudgetLimitName, HTMLInputElement>();
    for (const limit of budgetLimitNames) {
      const cell = document.createElement("td");
      const input = document.createElement("input");
      input.type = "text";
      input.inputMode = "decimal";
      input.className = "budget-input";
      input.dataset.limit = limit;
      const override = user.overrides[limit];
      input.value = override === undefined ? "" : override === null ? "none" : formatLimitForInput(override, limit);
      input.placeholder = `team: ${describeLimit(budgets.team[limit], limit)}`;
      input.setAttribute("aria-label", `${budgetLimitLabels[limit]} of ${user.userName}`);
      input.title = `Applies now: ${describeLimit(user.effective[limit], limit)}`;
      input.addEventListener("keydown", (event) => {
        if (event.key === "Enter") void this.saveUser(user, inputs);
      });
      inputs.set(limit, input);
      cell.append(input);
      row.append(cell);
    }
    const actions = document.createElement("td");
    const save = document.createElement("vscode-button");
    save.setAttribute("secondary", "");
    save.setAttribute("aria-label", `Save the limits of ${user.userName}`);
    save.textContent = "Save";
    save.addEventListener("click", () => void this.saveUser(user, inputs));
    actions.append(save);
    row.append(actions);
    return row;
  }

  private async saveTeam(): Promise<void> {
    const changes: Partial<Record<BudgetLimitName, number | null>> = {};
    for (const [limit, input] of this.teamFields) {
      const parsed = parseLimitInput(input.value, limit);
      if (parsed.kind === "invalid") {
        this.status.show("error", parsed.message);
        input.focus();
        return;
      }
      const value = parsed.kind === "value" ? parsed.value : null;
      if (value !== this.budgets?.team[limit]) changes[limit] = value;
    }
    if (Object.keys(changes).length === 0) {
      this.status.show("info", "Nothing to save: the team's limits are as shown.");
      return;
    }
    this.status.show("progress", "Saving the team's budget…");
    try {
      this.setBudgets(await this.bridge.request("budgets/update-team", changes));
      this.status.show("success", "The team's budget is saved; it applies at once.");
    } catch (error) {
      this.status.show("error", `Not saved: ${describeRequestFailure(error)}`);
    }
  }

  private async saveUser(user: UserBudget, inputs: Map<BudgetLimitName, HTMLInputElement>): Promise<void> {
    const changes: Partial<Record<BudgetLimitName, number | null | "inherit">> = {};
    for (const [limit, input] of inputs) {
      const parsed = parseLimitInput(input.value, limit);
      if (parsed.kind === "invalid") {
        this.status.show("error", `${user.userName}: ${parsed.message}`);
        input.focus();
        return;
      }
      const wanted = parsed.kind === "blank" ? "inherit" : parsed.kind === "none" ? null : parsed.value;
      const current = limit in user.overrides ? user.overrides[limit] : "inherit";
      if (wanted !== current) changes[limit] = wanted;
    }
    if (Object.keys(changes).length === 0) {
      this.status.show("info", `Nothing to save for ${user.userName}.`);
      return;
    }
    this.status.show("progress", `Saving the limits of ${user.userName}…`);
    try {
      this.setBudgets(await this.bridge.request("budgets/update-user", { userId: user.userId, changes }));
      this.status.show("success", `The limits of ${user.userName} are saved; they apply at once.`);
    } catch (error) {
      this.status.show("error", `Not saved: ${describeRequestFailure(error)}`);
    }
  }
}

import type { RegistrationPolicy } from "../../../protocol/http/accounts";
import { describeRequestFailure } from "../host-bridge/host-request-error";
import { StatusLine } from "./status-line";
import type { TeamSettingsBridge } from "./team-settings-bridge";

const POLICIES: ReadonlyArray<{ policy: RegistrationPolicy; title: string; detail: string }> = [
  { policy: "open", title: "Open", detail: "anyone who can reach the server can create an account" },
  { policy: "approval", title: "Approval", detail: "new accounts wait until an admin approves them" },
  { policy: "closed", title: "Closed", detail: "nobody can create an account" },
];

let nextGroupNumber = 1;

/**
 * Who may create an account on the team server. Native radio buttons in a fieldset, styled with
 * the theme: vscode-elements 2.5's <vscode-radio> renders an inner checkbox, which screen readers
 * announce as a checkbox, not as one choice of three.
 */
export class RegistrationSection {
  readonly element: HTMLElement;
  private readonly radios = new Map<RegistrationPolicy, HTMLInputElement>();
  private readonly status = new StatusLine();
  private policy: RegistrationPolicy | undefined;

  constructor(private readonly bridge: TeamSettingsBridge) {
    this.element = document.createElement("div");
    this.element.className = "registration-section";
    const fieldset = document.createElement("fieldset");
    fieldset.className = "radio-group";
    const legend = document.createElement("legend");
    legend.className = "visually-hidden";
    legend.textContent = "Registration policy";
    fieldset.append(legend);
    const name = `registration-${nextGroupNumber++}`;
    for (const { policy, title, detail } of POLICIES) {
      const label = document.createElement("label");
      label.className = "radio";
      const radio = document.createElement("input");
      radio.type = "radio";
      radio.name = name;
      radio.value = policy;
      radio.addEventListener("change", () => {
        if (radio.checked) void this.save(policy);
      });
      const text = document.createElement("span");
      const titleElement = document.createElement("strong");
      titleElement.textContent = title;
      text.append(titleElement, document.createTextNode(`: ${detail}`));
      label.append(radio, text);
      this.radios.set(policy, radio);
      fieldset.append(label);
    }
    this.element.append(fieldset, this.status.element);
  }

  setPolicy(policy: RegistrationPolicy): void {
    this.policy = policy;
    for (const [value, radio] of this.radios) radio.checked = value === policy;
  }

  private async save(policy: RegistrationPolicy): Promise<void> {
    if (policy === this.policy) return;
    const previous = this.policy;
    this.status.show("progress", "Saving…");
    for (const radio of this.radios.values()) radio.disabled = true;
    try {
      const settings = await this.bridge.request("settings/update", { registration: policy });
      this.setPolicy(settings.registration);
      this.status.show("success", "Saved.");
    } catch (error) {
      if (previous) this.setPolicy(previous);
      this.status.show("error", `Not saved: ${describeRequestFailure(error)}`);
    } finally {
      for (const radio of this.radios.values()) radio.disabled = false;
    }
  }
}

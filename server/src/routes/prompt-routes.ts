import { endpoints } from "../../../protocol/http/endpoints";
import type { Mount } from "../http/mount";
import type { Services } from "../services/services";

/** The user's default system prompt, and the team's presets (members read them, admins write them). */
export function promptRoutes(mount: Mount, services: Services): void {
  mount(endpoints.getDefaultSystemPrompt, ({ user }) => services.prompts.getDefault(user.id));
  mount(endpoints.setDefaultSystemPrompt, ({ request, user }) => services.prompts.setDefault(user.id, request.systemPrompt));
  mount(endpoints.listPresets, async () => ({ presets: await services.prompts.listPresets() }));
  mount(endpoints.createPreset, async ({ request }) => ({ preset: await services.prompts.createPreset(request) }));
  mount(endpoints.updatePreset, async ({ request, params }) => ({
    preset: await services.prompts.updatePreset(params.presetId ?? "", request),
  }));
  mount(endpoints.deletePreset, ({ params }) => services.prompts.deletePreset(params.presetId ?? ""));
}

import { generationEventSchemas, type GenerationEvent, type GenerationEventName } from "../../../protocol/http/generation-events";
import type { EventSourceMessage } from "eventsource-parser";
import { TeamServerError } from "./team-server-error";

/**
 * A typed generation event from one server-sent event. Unknown event names give undefined (a newer
 * server may add some); a known event with a bad id or data is a protocol error.
 */
export function parseGenerationEvent(rawEvent: EventSourceMessage): GenerationEvent | undefined {
  // An event without `event:` is a "message" event: not one of ours.
  const eventName = rawEvent.event ?? "message";
  if (!Object.hasOwn(generationEventSchemas, eventName)) return undefined;
  const name = eventName as GenerationEventName;
  const sequence = Number(rawEvent.id);
  if (rawEvent.id === undefined || !Number.isSafeInteger(sequence) || sequence < 1) {
    throw new TeamServerError(0, "invalid_response", `The Juggler server sent a ${name} event without a valid id.`);
  }
  let data: unknown;
  try {
    data = JSON.parse(rawEvent.data);
  } catch (error) {
    throw new TeamServerError(0, "invalid_response", `The Juggler server sent a ${name} event that is not JSON.`, false, { cause: error });
  }
  const parsed = generationEventSchemas[name].safeParse(data);
  if (!parsed.success) {
    throw new TeamServerError(0, "invalid_response", `The Juggler server sent a ${name} event in an unexpected shape.`, false, {
      cause: parsed.error,
    });
  }
  return { sequence, event: name, data: parsed.data } as GenerationEvent;
}

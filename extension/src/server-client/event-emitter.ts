/** Something that can be undone, shaped like vscode.Disposable so surfaces can push it into context.subscriptions. */
export interface Disposable {
  dispose(): void;
}

export type Listener<Value> = (value: Value) => void;

/** A subscription function, shaped like vscode.Event, without importing vscode. */
export type Event<Value> = (listener: Listener<Value>) => Disposable;

/**
 * A minimal typed event emitter for the code below surfaces/ (which must not import vscode).
 * A listener that throws does not stop the others.
 */
export class EventEmitter<Value> implements Disposable {
  private readonly listeners = new Set<Listener<Value>>();

  readonly event: Event<Value> = (listener) => {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  };

  fire(value: Value): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(value);
      } catch (error) {
        // A faulty listener (a UI surface) must not break the state machine that fired the event.
        console.error("Juggler: an event listener failed", error);
      }
    }
  }

  dispose(): void {
    this.listeners.clear();
  }
}

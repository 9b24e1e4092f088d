// A tiny event emitter: `on` returns an unsubscribe function (handy in React effects and Vue
// unmount hooks). A listener that throws is reported and does not stop the other listeners.

export class Emitter {
  #listeners = new Map();

  /** Calls `listener(detail)` for every `type` event; returns a function that unsubscribes. */
  on(type, listener) {
    if (!this.#listeners.has(type)) this.#listeners.set(type, new Set());
    this.#listeners.get(type).add(listener);
    return () => this.off(type, listener);
  }

  /** Like `on`, for the next event only. */
  once(type, listener) {
    const off = this.on(type, (detail) => {
      off();
      listener(detail);
    });
    return off;
  }

  off(type, listener) {
    this.#listeners.get(type)?.delete(listener);
  }

  emit(type, detail) {
    for (const listener of [...(this.#listeners.get(type) ?? [])]) {
      try {
        listener(detail);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}

import type { ChatClientEvents, ChatEventHandler, ChatEventName } from './types.ts'

/** The client's typed events: handlers run synchronously, in the order they were added. */
export class Emitter {
  private readonly handlers = new Map<ChatEventName, Set<(payload: never) => void>>()

  on<E extends ChatEventName>(event: E, handler: ChatEventHandler<E>): () => void {
    let set = this.handlers.get(event)
    if (!set) {
      set = new Set()
      this.handlers.set(event, set)
    }
    set.add(handler)
    return () => this.off(event, handler)
  }

  off<E extends ChatEventName>(event: E, handler: ChatEventHandler<E>): void {
    this.handlers.get(event)?.delete(handler)
  }

  emit<E extends ChatEventName>(event: E, payload: ChatClientEvents[E]): void {
    const set = this.handlers.get(event)
    if (!set) return
    for (const handler of [...set]) {
      try {
        ;(handler as ChatEventHandler<E>)(payload)
      } catch (error) {
        // A throwing handler must not stop the client's own bookkeeping nor the other
        // handlers; rethrown on its own so it still shows as an uncaught error.
        queueMicrotask(() => {
          throw error
        })
      }
    }
  }
}

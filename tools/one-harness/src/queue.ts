/** Handed to a running action; `cancelled` turns true on `DRIVER_CANCEL`. */
export interface ActionContext {
  readonly cancelled: boolean;
}

interface Entry {
  key: number;
  context: { cancelled: boolean };
  start: () => void;
  drop: () => void;
}

/**
 * `ActionManager`: at most `concurrency` actions at once, the rest wait in FIFO order. Cancelling
 * a running action only detaches it (like killing the Ruby thread: its slot is freed at once, its
 * script keeps running and nothing more is reported); cancelling a queued one drops it.
 */
export class ActionQueue {
  readonly concurrency: number;
  private readonly waiting: Entry[] = [];
  private readonly running = new Map<number, Entry>();
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(concurrency: number) {
    this.concurrency = concurrency;
  }

  /** Actions holding a slot now (a cancelled action's script may still be running). */
  get active(): number {
    return this.inFlight;
  }

  /** Queue an action; `dropped` gives the value to resolve with if it is cancelled while queued. */
  submit<T>(key: number, run: (context: ActionContext) => Promise<T>, dropped: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const context = { cancelled: false };
      const entry: Entry = {
        key,
        context,
        drop: () => resolve(dropped()),
        start: () => {
          this.inFlight++;
          this.running.set(key, entry);
          run(context)
            .then(resolve, reject)
            .finally(() => {
              if (context.cancelled) return; // its slot was already given back
              this.release(entry);
            });
        },
      };
      this.waiting.push(entry);
      this.pump();
    });
  }

  /** `DRIVER_CANCEL <key>`: where the action was, or `none`. */
  cancel(key: number): 'running' | 'queued' | 'none' {
    const entry = this.running.get(key);
    if (entry) {
      entry.context.cancelled = true;
      this.release(entry);
      return 'running';
    }
    const index = this.waiting.findIndex((e) => e.key === key);
    if (index < 0) return 'none';
    const [dropped] = this.waiting.splice(index, 1);
    dropped?.drop();
    this.notifyIdle();
    return 'queued';
  }

  /** Resolves once nothing is queued or holding a slot. */
  idle(): Promise<void> {
    if (this.inFlight === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private release(entry: Entry): void {
    this.inFlight--;
    if (this.running.get(entry.key) === entry) this.running.delete(entry.key);
    this.pump();
    this.notifyIdle();
  }

  private pump(): void {
    while (this.inFlight < this.concurrency && this.waiting.length > 0) {
      this.waiting.shift()?.start();
    }
  }

  private notifyIdle(): void {
    if (this.inFlight !== 0 || this.waiting.length !== 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

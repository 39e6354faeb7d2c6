/**
 * A background pass run at start-up and then every `intervalMs` (the deletion and rotation
 * sweepers): a call while a pass runs joins it, a pass never rejects, and stop() waits for the
 * running one so the backends are not closed under it.
 */
export interface PeriodicPass<R> {
  /** One pass; a call while a pass is running joins it. Never rejects. */
  run(): Promise<R>;
  /** Starts the timer (unref'd: it never keeps the process alive). */
  start(): void;
  /** Stops the timer and waits for a running pass. */
  stop(): Promise<void>;
}

/** `failed` turns an unexpected error of `pass` into its result (after logging it). */
export function periodicPass<R>(pass: () => Promise<R>, failed: (e: unknown) => R, intervalMs: number): PeriodicPass<R> {
  let running: Promise<R> | undefined;
  let timer: NodeJS.Timeout | undefined;
  function run(): Promise<R> {
    running ??= pass()
      .catch(failed)
      .finally(() => {
        running = undefined;
      });
    return running;
  }
  return {
    run,
    start() {
      if (timer) return;
      timer = setInterval(() => {
        void run();
      }, intervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}

export function describeError(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

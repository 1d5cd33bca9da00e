/** A pause that a wake-up cuts short; a wake-up while not pausing makes the next pause return at once. */
export type WakeSignal = {
  wake(): void;
  pause(ms: number): Promise<void>;
};

export function createWakeSignal(): WakeSignal {
  let woken = false;
  let cut: (() => void) | undefined;
  return {
    wake() {
      woken = true;
      cut?.();
    },
    pause(ms) {
      return new Promise<void>((resolve) => {
        if (woken) {
          woken = false;
          resolve();
          return;
        }
        const done = () => {
          clearTimeout(timer);
          cut = undefined;
          woken = false;
          resolve();
        };
        const timer = setTimeout(done, ms);
        cut = done;
      });
    },
  };
}

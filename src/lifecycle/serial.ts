// One step at a time, in the order asked: leadership transitions and the adapter endpoint's
// publish/withdraw must not interleave (a withdraw overtaking a publish would leave the Service
// pointing at a standby).

export interface SerialQueue {
  /** Runs `step` after every step queued before it; resolves when it settled (never rejects). */
  run(step: () => Promise<void> | void): Promise<void>;
}

/** A failed step goes to `onError` and does not stop the steps behind it. */
export const serialQueue = (onError: (err: unknown) => void): SerialQueue => {
  let tail: Promise<void> = Promise.resolve();
  return {
    run(step) {
      tail = tail.then(step).catch(onError);
      return tail;
    },
  };
};

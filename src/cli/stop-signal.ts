// How the long-running commands (`ebb run`, `ebb start`, `ebb activator`) learn to stop.

/** Resolves to the first SIGINT or SIGTERM's name, then stops listening for either. */
export const waitForSignal = (): Promise<string> =>
  new Promise((resolve) => {
    const onSignal = (signal: string) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });

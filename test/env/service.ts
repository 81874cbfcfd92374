// The contract between test/env/global-setup.ts and each real server it can start.
//
// A service starts its server(s), hands connection info to test files with `provide` (typed by
// augmenting vitest's ProvidedContext next to the service), may register actions that test
// files trigger through the control endpoint (e.g. restarting kube-apiserver, which lives in
// the vitest main process), and returns how to stop. To add one (Kafka, RabbitMQ): write
// `test/env/<name>.ts` exporting an EnvService and list it in global-setup.ts.
import type { TestProject } from 'vitest/node';

export type Provide = TestProject['provide'];

/** Runs in the vitest main process; the result is sent back to the calling test as JSON. */
export type EnvAction = (body: unknown) => Promise<unknown>;

export interface ServiceContext {
  provide: Provide;
  /** Registers `POST /<service>/<name>` on the control endpoint; see `envAction` in testing.ts. */
  registerAction(name: string, action: EnvAction): void;
  /** Sets an environment variable in the main process (inherited by test workers and their children). */
  setEnv(name: string, value: string): void;
}

export interface RunningService {
  stop(): Promise<void>;
}

export interface EnvService {
  /** Lower-case name, as listed in EBB_TEST_ENV (e.g. `kube`, `kafka`, `rabbitmq`). */
  name: string;
  start(ctx: ServiceContext): Promise<RunningService>;
}

/** Where test workers reach the actions registered by services. */
export interface ControlEndpoint {
  url: string;
  token: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** Present during integration runs: see global-setup.ts. */
    ebbEnvControl: ControlEndpoint;
    /** Names of the services global-setup.ts started. */
    ebbEnvServices: string[];
  }
}

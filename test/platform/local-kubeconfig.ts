// A client config for an API server stand-in on 127.0.0.1 (plain http, no credentials).
import type { RestConfig } from '../../src/platform/kubernetes/kubeconfig.ts';
import { restConfigFor } from '../env/rest-config.ts';

export const configFor = (server: string): RestConfig => restConfigFor({ server });

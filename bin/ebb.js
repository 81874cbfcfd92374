#!/usr/bin/env node
// Runs the TypeScript sources through tsx (ebb ships as source; there is no build step to run it).
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');

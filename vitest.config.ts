import { defineConfig } from 'vitest/config';

// Two projects: `unit` is pure and fast; `integration` needs the real servers that
// test/env/global-setup.ts starts once per run (kube-apiserver + etcd, Kafka, RabbitMQ).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/integration/**'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/env/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
    ],
  },
});

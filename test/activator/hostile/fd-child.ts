// A child activator for descriptors.test.ts, run as `node --import tsx fd-child.ts` under a
// lowered open-file limit. Route `shop/cold` (host cold.test) starts with no endpoint. It prints
// one JSON line when listening ({ port, openFileLimit, maxClientConnections, ... }), then reads
// commands on stdin, one per line, and answers each with one JSON line:
//   release <port>   the route's endpoint becomes 127.0.0.1:<port>      → { released: true }
//   stats            the route's counters and the connections in use   → { held, inFlight, ... }
// Limits come from $EBB_CHILD_LIMITS (JSON, Partial<ActivatorLimits>).
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { createActivator } from '../../../src/activator/server.ts';
import { MemoryEndpointSource } from '../memory-endpoints.ts';

const source = new MemoryEndpointSource();
const activator = createActivator({
  endpoints: source,
  routes: [
    {
      key: 'shop/cold',
      hosts: ['cold.test'],
      pathPrefixes: ['/'],
      service: 'cold',
      port: 80,
      containerConcurrency: 0,
      holdTimeoutMs: 60_000,
      maxHeldRequests: 10_000,
      healthPaths: [],
    },
  ],
  poke: () => {},
  id: 'fd-child',
  limits: JSON.parse(process.env.EBB_CHILD_LIMITS ?? '{}'),
});
const say = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value)}\n`);
};
activator.server.listen(0, '127.0.0.1', () => {
  say({ port: (activator.server.address() as AddressInfo).port, ...activator.connections() });
});
createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, arg] = line.trim().split(' ');
  if (command === 'release') {
    source.set('shop/cold:80', [{ address: '127.0.0.1', port: Number(arg) }]);
    say({ released: true });
  } else if (command === 'stats') {
    const route = activator.stats().routes.find((r) => r.route === 'shop/cold');
    say({ held: route?.held, inFlight: route?.inFlight, ...activator.connections() });
  }
});
process.stdin.on('end', () => process.exit(0));

// The command line both netns test backends take (netns-backend.ts, netns-grpc-backend.ts):
//   --name web-0 --address 10.213.0.3 --port 8080 [--start-delay-ms 2000]
// Run directly by Node like them: no imports.

const arg = (flag: string, fallback?: string): string => {
  const i = process.argv.indexOf(flag);
  const value = i >= 0 ? process.argv[i + 1] : fallback;
  if (value === undefined) throw new Error(`missing ${flag}`);
  return value;
};

export const backendArgs = (): { name: string; address: string; port: number; startDelayMs: number } => ({
  name: arg('--name'),
  address: arg('--address'),
  port: Number(arg('--port')),
  startDelayMs: Number(arg('--start-delay-ms', '0')),
});

// `ebb local --otlp-endpoint`: the first request to the example's scaled-to-zero app is held for
// its cold start, and that hold reaches a real OTLP/HTTP receiver as one span (exported at the
// latest when ebb stops on SIGTERM).
import { afterEach, describe, expect, it } from 'vitest';
import { attributes, spansOf, startReceiver } from '../activator/otlp-receiver.ts';
import { type RunningCli, startCli } from '../platform/local/running-cli.ts';

const started: RunningCli[] = [];
const receivers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const cli of started.splice(0)) {
    cli.child.kill('SIGTERM');
    await cli.exited;
  }
  for (const r of receivers.splice(0)) await r.close();
});

describe('ebb local --otlp-endpoint', () => {
  it('exports one span for the request held during the cold start', async () => {
    const receiver = await startReceiver();
    receivers.push(receiver);
    const cli = await startCli({ args: ['--port', '0', '--ui-port', '0', '--otlp-endpoint', receiver.url] });
    started.push(cli);
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const answer = await fetch(cli.url, { headers: { traceparent } });
    expect(answer.status).toBe(200);
    expect(await answer.text()).toMatch(/^hello from hello/);
    cli.child.kill('SIGTERM');
    expect((await cli.exited).code).toBe(0);
    const spans = spansOf(receiver.exports);
    expect(spans).toHaveLength(1);
    const [span] = spans;
    expect(span?.name).toBe('activator hold');
    expect(span?.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(span?.parentSpanId).toBe('00f067aa0ba902b7');
    expect(attributes(span as NonNullable<typeof span>)).toMatchObject({
      'ebb.route': 'default/hello',
      'ebb.cold_start': true,
      'ebb.outcome': 'forwarded',
    });
  }, 90_000);

  it('refuses an --otlp-endpoint that is no http(s) URL, naming the flag', async () => {
    const failed = startCli({ args: ['--port', '0', '--ui-port', '0', '--otlp-endpoint', 'collector:4318'] });
    await expect(failed).rejects.toThrow(/--otlp-endpoint <url>.* must be an http:\/\/ or https:\/\/ URL/);
  }, 60_000);
});

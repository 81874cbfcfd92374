// The standalone activator's proof of who it is to the controllers: its ServiceAccount token,
// sent with every report (src/activator/reporter.ts) and verified by the controller with a
// TokenReview (src/controller/report-auth.ts). The kubelet rotates a projected token before it
// expires (at 80 % of its life) by swapping the file atomically, so the file is read at start
// (a missing, empty or oversized file is an error naming it), again every minute (as client-go's
// cached file token source does), and soon after a controller answers 401. A failed re-read
// keeps the last token and is logged once until a read succeeds.
import { readFile, stat } from 'node:fs/promises';
import { type Clock, realClock, type Timer } from '../clock.ts';
import type { Logger } from '../logging.ts';
import type { ReportCredentials } from './reporter.ts';

/** Where every pod's ServiceAccount token is mounted (audience: the API server). */
export const DEFAULT_REPORT_TOKEN_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** Tokens are a few KB; anything larger is not one. */
const MAX_TOKEN_BYTES = 64 * 1024;

export interface ReportTokenOptions {
  /** How often the file is read again; default 60 s. */
  readonly rereadEveryMs?: number;
  /** A 401 reads it again, but not sooner than this after the last read; default 5 s. */
  readonly minRereadGapMs?: number;
  /** The re-read period and gap; default realClock. */
  readonly clock?: Clock;
}

/** The token in `file`, trimmed; throws an Error naming the file and what is wrong. */
const readToken = async (file: string): Promise<string> => {
  const size = (await stat(file)).size;
  if (size > MAX_TOKEN_BYTES)
    throw new Error(`${file} holds ${size} bytes, more than a token (${MAX_TOKEN_BYTES})`);
  const token = (await readFile(file, 'utf8')).trim();
  if (token === '') throw new Error(`${file} is empty`);
  if (/\s/.test(token)) throw new Error(`${file} holds more than one token (whitespace inside)`);
  return token;
};

export class ReportToken implements ReportCredentials {
  private readonly timer: Timer;
  private readonly minRereadGapMs: number;
  private readonly clock: Clock;
  private readAt: number;
  private reading: Promise<void> | undefined;
  /** Why the last re-read failed (logged once); undefined while reads succeed. */
  private failing: string | undefined;

  private constructor(
    private readonly file: string,
    private token: string,
    private readonly log: Logger,
    opts: ReportTokenOptions,
  ) {
    this.minRereadGapMs = opts.minRereadGapMs ?? 5_000;
    this.clock = opts.clock ?? realClock;
    this.readAt = this.clock.now();
    this.timer = this.clock.every(opts.rereadEveryMs ?? 60_000, () => void this.reread());
    this.timer.unref();
  }

  /** Reads `file` once; rejects with an Error naming it when it cannot be read. */
  static async load(file: string, log: Logger, opts: ReportTokenOptions = {}): Promise<ReportToken> {
    let token: string;
    try {
      token = await readToken(file);
    } catch (err) {
      throw new Error(
        `--report-token-file: cannot read the ServiceAccount token the activator reports with: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    return new ReportToken(file, token, log, opts);
  }

  current(): string {
    return this.token;
  }

  rejected(): void {
    if (this.clock.now() - this.readAt >= this.minRereadGapMs) void this.reread();
  }

  close(): void {
    this.clock.cancel(this.timer);
  }

  /** Reads the file again (one read at a time); never rejects. */
  private reread(): Promise<void> {
    this.reading ??= readToken(this.file)
      .then(
        (token) => {
          if (this.failing !== undefined)
            this.log.info({ file: this.file }, 'the report token file reads again');
          this.failing = undefined;
          this.token = token;
        },
        (err: unknown) => {
          const why = err instanceof Error ? err.message : String(err);
          if (this.failing === undefined)
            this.log.warn(
              { file: this.file, err: why },
              'cannot re-read the report token; sending the last one',
            );
          this.failing = why;
        },
      )
      .finally(() => {
        this.readAt = this.clock.now();
        this.reading = undefined;
      });
    return this.reading;
  }
}

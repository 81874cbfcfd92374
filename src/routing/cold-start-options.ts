// The http trigger's "friendly cold start" keys, which only change what a client sees while its
// route's target scales from zero (the activator's src/activator/placeholder.ts and proxy.ts):
//
//   placeholder         "true": a browser (GET/HEAD, Accept naming text/html) asking while no
//                       endpoint is ready gets a small page at once (503, Retry-After, a
//                       `<meta http-equiv="refresh">`) instead of being held; the cold start is
//                       still triggered. Other clients are held as always.
//   placeholderMessage  the page's text (plain text, HTML-escaped; at most 1024 characters);
//                       default "<host> is starting up. This page reloads by itself."
//   placeholderRefresh  seconds between reloads, also the Retry-After (1s–60s; default 2s;
//                       rounded up to whole seconds, which both headers count in)
//   coldStartHeader     "true": a response to a request that was held for a cold start carries
//                       `x-ebb-cold-start: <hold time>ms`
import { bool, durationWithin, text } from '../../scalers/kit/metadata.ts';

export const MAX_PLACEHOLDER_MESSAGE = 1024;
export const DEFAULT_PLACEHOLDER_REFRESH_SECONDS = 2;

/** The page a route shows a browser during a cold start. */
export interface PlaceholderSpec {
  /** Plain text; undefined: the default sentence naming the host. */
  readonly message?: string;
  /** Reload interval and Retry-After, whole seconds >= 1. */
  readonly refreshSeconds: number;
}

/** Rows of the http trigger's metadata schema (spread into HttpMetadataSchema). */
export const coldStartMetadata = {
  placeholder: bool(false),
  placeholderMessage: text,
  placeholderRefresh: durationWithin(1000, 60_000, '2s'),
  coldStartHeader: bool(false),
} as const;

interface ColdStartMetadata {
  readonly placeholder: boolean;
  readonly placeholderMessage: string | undefined;
  readonly placeholderRefresh: number | undefined;
  readonly coldStartHeader: boolean;
}

/** The route fields these keys give (absent when off), or problems through `add`. */
export const coldStartOptions = (
  m: ColdStartMetadata,
  add: (key: keyof ColdStartMetadata, message: string) => void,
): { placeholder?: PlaceholderSpec; coldStartHeader?: true } => {
  const message = m.placeholderMessage;
  if (message !== undefined && message.length > MAX_PLACEHOLDER_MESSAGE)
    add(
      'placeholderMessage',
      `is ${message.length} characters long; at most ${MAX_PLACEHOLDER_MESSAGE} are allowed`,
    );
  if (!m.placeholder) {
    if (message !== undefined) add('placeholderMessage', 'only applies with placeholder: "true"');
    if (m.placeholderRefresh !== undefined)
      add('placeholderRefresh', 'only applies with placeholder: "true"');
  }
  const refreshSeconds =
    m.placeholderRefresh === undefined
      ? DEFAULT_PLACEHOLDER_REFRESH_SECONDS
      : Math.ceil(m.placeholderRefresh / 1000);
  return {
    ...(m.placeholder
      ? { placeholder: message === undefined ? { refreshSeconds } : { message, refreshSeconds } }
      : {}),
    ...(m.coldStartHeader ? { coldStartHeader: true as const } : {}),
  };
};

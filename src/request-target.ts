// The request-target of an HTTP/1.1 request (RFC 9112 §3.2) as a path and a query, for ebb's
// small servers (health, /metrics, the metrics adapter). Not `new URL(target, base)`: it throws
// on targets node's parser lets through (`//[`, `//x:99999/`), and a throw in a request handler
// ends the whole process, so anyone who can reach a port could stop the controller.
//   origin-form   `/path?query`          split at the first `?`, nothing parsed
//   absolute-form `http://host/path?q`   RFC 9112 §3.2.2: a server MUST accept it; parsed by URL
//   anything else (or an unparsable absolute-form)   an error value → 400
export type RequestTarget =
  | { readonly ok: true; readonly path: string; readonly query: URLSearchParams }
  | { readonly ok: false; readonly message: string };

export const parseRequestTarget = (target: string | undefined): RequestTarget => {
  const raw = target ?? '/';
  if (raw.startsWith('/')) {
    const q = raw.indexOf('?');
    return q < 0
      ? { ok: true, path: raw, query: new URLSearchParams() }
      : { ok: true, path: raw.slice(0, q), query: new URLSearchParams(raw.slice(q + 1)) };
  }
  if (/^https?:\/\//i.test(raw)) {
    try {
      const url = new URL(raw);
      return { ok: true, path: url.pathname, query: url.searchParams };
    } catch {
      // falls through to the error below
    }
  }
  return {
    ok: false,
    message: `request-target ${JSON.stringify(raw.slice(0, 100))} is neither origin-form nor a valid absolute URL (RFC 9112 §3.2)`,
  };
};

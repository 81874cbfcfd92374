// Pipelined requests, one at a time. RFC 9112 §9.3.2 lets a server process pipelined requests
// in sequence; nginx and Envoy do (the next request is taken once the answer before it is done).
// node:http does not: it parses every request a read brings and emits each at once, queuing the
// answers behind the first in memory. Behind a request held for a cold start, one client could
// so make the activator read, hold or forward a connection's worth of requests (2,000 pipelined
// GETs: +52 MB), each answer waiting for the one before it anyway.
//
// Rule: a request that arrives while an answer before it on the same connection is unfinished
// (node has not handed it the socket yet: `res.socket` is null) is deferred, and the connection
// stops being read; it is admitted when node hands it the socket, i.e. when the answer before it
// finished. Reading resumes once no deferred request is left on the connection. So at most the
// one read (64 KB) that carried it is parsed ahead, and nothing behind a held request is held or
// forwarded. The common case (no pipelining) costs one property read. As with a held request
// whose body is paused (hold-queue.ts), a held request with requests pipelined behind it sees its
// client leave only when it is released or times out: its connection is not being read.
//
// Stopping reads uses node's own pipelining flood guard (`socket._paused`, node 26's
// lib/_http_server.js): with it set node neither resumes reading at the end of each message nor
// lets its drain handler resume it (a 'resume' while deferring is paused again here), and it
// pauses its parser after the current read; lifting it mirrors node's socketOnDrain.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { bodyPending } from './hold-queue.ts';

/**
 * The fields of node's server-side socket that its own flood guard uses, and the count of
 * deferred requests kept on the connection itself (set only on connections that pipelined).
 */
interface ServerSocket extends Socket {
  _paused?: boolean;
  parser?: { pause(): void; resume(): void } | null;
  ebbDeferred?: number;
}

function stopReading(this: ServerSocket): void {
  if ((this.ebbDeferred ?? 0) === 0) return;
  this._paused = true;
  this.pause();
}

/** Whether `res` waits behind an unfinished answer on its connection (then the caller defers it). */
export const isPipelined = (res: ServerResponse): boolean => res.socket === null;

/** Defers a pipelined request: `admit` runs when the answer before it finished. */
export const deferPipelined = (
  req: IncomingMessage,
  res: ServerResponse,
  admit: (req: IncomingMessage, res: ServerResponse) => void,
): void => {
  const socket = req.socket as ServerSocket;
  const waiting = socket.ebbDeferred ?? 0;
  socket.ebbDeferred = waiting + 1;
  if (waiting === 0) socket.on('resume', stopReading);
  stopReading.call(socket);
  res.once('socket', () => {
    const left = (socket.ebbDeferred ?? 1) - 1;
    socket.ebbDeferred = left;
    if (left === 0) {
      socket.off('resume', stopReading);
      socket._paused = false;
      socket.parser?.resume();
      // A body still arriving is read by whoever takes the request (the forward's pipe, the hold
      // queue's release, node's discard after an answer of the activator's own).
      if (!bodyPending(req)) socket.resume();
    }
    admit(req, res);
  });
};

import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import { abortedPromise } from '../resilience/aborted-promise';

/** Outcome of a drain. */
export interface DrainResult {
  /** Requests still running when the signal aborted, whose sockets were destroyed. */
  readonly abandonedRequests: number;
}

/** How long sockets get to close after end() before they are destroyed, in ms. */
const STRAGGLER_MS = 1_000;

/** How often a drain asks the server to close connections accepted before attach() once idle, in ms. */
const UNTRACKED_POLL_MS = 50;

/** How long sockets cut at the deadline get to emit 'close' before the drain returns, in ms. */
const CUT_GRACE_MS = 100;

/**
 * Counts in-flight requests per socket so that a drain can stop accepting, close idle keep-alive
 * sockets at once, let running requests finish (answering them with `Connection: close`), and cut
 * whatever is left when its signal aborts.
 *
 * On a TLS server (https.Server is one) requests see the TLSSocket of `'secureConnection'`, not the
 * TCP socket of `'connection'`, so the in-flight count is kept on the former; the TCP sockets are
 * kept apart only so that handshakes still in progress can be cut.
 *
 * Connections the server accepted before the tracker existed (attach() to a server already
 * serving) are counted from their next request; until then the drain reaches them through the
 * server itself: idle ones are closed as soon as they are idle, and at the deadline
 * `closeAllConnections()` cuts whatever the server still holds, so the deadline always holds.
 */
export class ConnectionTracker {
  /** The sockets requests arrive on, with their number of requests in flight. */
  private readonly sockets = new Map<Socket, number>();
  /** Every TCP connection, TLS handshakes in progress included. */
  private readonly transports = new Set<Socket>();
  private readonly responses = new Set<ServerResponse>();
  private readonly requestSocketEvent: 'connection' | 'secureConnection';
  private draining: Promise<DrainResult> | undefined;
  private onIdle: (() => void) | undefined;

  constructor(private readonly server: Server) {
    this.requestSocketEvent = server instanceof TlsServer ? 'secureConnection' : 'connection';
    server.on('connection', this.onTransport);
    server.on(this.requestSocketEvent, this.onConnection);
    // Prepended so the header is set before the app can answer synchronously.
    server.prependListener('request', this.onRequest);
  }

  /** Requests currently being served. */
  get inFlight(): number {
    return this.responses.size;
  }

  /** Open client connections (TLS ones once their handshake is done). */
  get connections(): number {
    return this.sockets.size;
  }

  /**
   * Stops accepting, closes idle sockets, and waits for in-flight requests; when `signal` aborts
   * (the drain deadline) it destroys every socket left. Idempotent: later calls share the first.
   */
  drain(signal: AbortSignal): Promise<DrainResult> {
    this.draining ??= this.run(signal);
    return this.draining;
  }

  /** Stops tracking (the server is left as it is). */
  detach(): void {
    this.server.off('connection', this.onTransport);
    this.server.off(this.requestSocketEvent, this.onConnection);
    this.server.off('request', this.onRequest);
  }

  private async run(signal: AbortSignal): Promise<DrainResult> {
    // Responses still being prepared tell their client to reconnect elsewhere rather than reuse the socket.
    for (const response of this.responses) {
      if (!response.headersSent) response.setHeader('connection', 'close');
    }
    // server.close() also closes idle connections (Node >= 19), those accepted before attach() too.
    const closed = new Promise<void>((resolve) => {
      if (!this.server.listening) resolve();
      else this.server.close(() => resolve());
    });
    for (const [socket, count] of this.sockets) if (count === 0) socket.end();
    // A connection accepted before attach() is invisible to us until its next request; if its
    // request is running now, nothing tells us when it ends. Node can close it once it is idle.
    const untracked = setInterval(() => this.server.closeIdleConnections(), UNTRACKED_POLL_MS);
    untracked.unref();

    const aborted = abortedPromise(signal);
    try {
      const idle = new Promise<void>((resolve) => {
        if (this.responses.size === 0) resolve();
        else this.onIdle = resolve;
      });
      await Promise.race([idle, aborted.promise]);
      this.onIdle = undefined;

      const abandonedRequests = signal.aborted ? this.responses.size : 0;
      if (signal.aborted) this.cutAll();
      else for (const socket of this.sockets.keys()) socket.end();
      // Sockets that ignore end() (a client that never reads) must not hold the drain past a second.
      let straggler: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => {
        straggler = setTimeout(resolve, STRAGGLER_MS);
      });
      await Promise.race([closed, late, aborted.promise]);
      clearTimeout(straggler);
      this.destroyTracked();
      // What keeps the server open now is untracked: requests from before attach() get until the
      // deadline, then everything the server knows of is cut.
      await Promise.race([closed, aborted.promise]);
      if (signal.aborted) await this.cutAtDeadline(closed);
      // A TLSSocket emits 'close' after its TCP socket, which is what server.close() waits for.
      await Promise.all([...this.sockets.keys()].map((socket) => once(socket, 'close')));
      return { abandonedRequests };
    } finally {
      clearInterval(untracked);
      aborted.dispose();
      this.detach();
    }
  }

  /**
   * Cuts every connection, ours and the server's, and gives them a moment to close: a TLS
   * handshake begun before attach() is known to neither of us and is left to its own timeout
   * rather than holding the drain past its deadline.
   */
  private async cutAtDeadline(closed: Promise<void>): Promise<void> {
    this.cutAll();
    let grace: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      grace = setTimeout(resolve, CUT_GRACE_MS);
    });
    await Promise.race([closed, late]);
    clearTimeout(grace);
  }

  private cutAll(): void {
    this.destroyTracked();
    // Every connection the HTTP server parses, those accepted before attach() included.
    this.server.closeAllConnections();
  }

  private destroyTracked(): void {
    for (const socket of this.sockets.keys()) socket.destroy();
    for (const socket of this.transports) socket.destroy();
  }

  private readonly onTransport = (socket: Socket): void => {
    if (this.draining) {
      socket.destroy();
      return;
    }
    this.transports.add(socket);
    socket.once('close', () => this.transports.delete(socket));
  };

  private readonly onConnection = (socket: Socket): void => {
    if (this.draining) {
      socket.destroy();
      return;
    }
    this.sockets.set(socket, 0);
    socket.once('close', () => this.sockets.delete(socket));
  };

  private readonly onRequest = (request: IncomingMessage, response: ServerResponse): void => {
    const socket = request.socket;
    const count = this.sockets.get(socket);
    // A socket we never saw connect (attached to a server already serving) is counted from now on.
    if (count === undefined) socket.once('close', () => this.sockets.delete(socket));
    this.sockets.set(socket, (count ?? 0) + 1);
    this.responses.add(response);
    if (this.draining) response.setHeader('connection', 'close');
    response.once('close', () => {
      this.responses.delete(response);
      const left = (this.sockets.get(socket) ?? 1) - 1;
      if (this.sockets.has(socket)) this.sockets.set(socket, left);
      if (this.draining && left === 0) socket.end();
      if (this.responses.size === 0) this.onIdle?.();
    });
  };
}

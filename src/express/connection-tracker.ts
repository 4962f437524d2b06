import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** Outcome of a drain. */
export interface DrainResult {
  /** Requests still running at the deadline, whose sockets were destroyed. */
  readonly abandonedRequests: number;
}

/**
 * Counts in-flight requests per socket so that a drain can stop accepting, close idle keep-alive
 * sockets at once, let running requests finish (answering them with `Connection: close`), and cut
 * whatever is left at a deadline.
 */
export class ConnectionTracker {
  private readonly sockets = new Map<Socket, number>();
  private readonly responses = new Set<ServerResponse>();
  private draining = false;
  private onIdle: (() => void) | undefined;

  constructor(private readonly server: Server) {
    server.on('connection', this.onConnection);
    // Prepended so the header is set before the app can answer synchronously.
    server.prependListener('request', this.onRequest);
  }

  /** Requests currently being served. */
  get inFlight(): number {
    return this.responses.size;
  }

  /** Open client connections. */
  get connections(): number {
    return this.sockets.size;
  }

  /** Stops accepting, closes idle sockets, waits for in-flight requests until `deadlineMs` (epoch ms). */
  async drain(deadlineMs: number): Promise<DrainResult> {
    this.draining = true;
    // Responses still being prepared tell their client to reconnect elsewhere rather than reuse the socket.
    for (const response of this.responses) {
      if (!response.headersSent) response.setHeader('connection', 'close');
    }
    const closed = new Promise<void>((resolve) => {
      if (!this.server.listening) resolve();
      else this.server.close(() => resolve());
    });
    for (const [socket, count] of this.sockets) if (count === 0) socket.end();

    let timer: NodeJS.Timeout | undefined;
    const idle = new Promise<void>((resolve) => {
      if (this.responses.size === 0) resolve();
      else this.onIdle = resolve;
    });
    const deadline = new Promise<'deadline'>((resolve) => {
      timer = setTimeout(() => resolve('deadline'), Math.max(0, deadlineMs - Date.now()));
    });
    const outcome = await Promise.race([idle.then(() => 'idle' as const), deadline]);
    clearTimeout(timer);
    this.onIdle = undefined;

    const abandonedRequests = outcome === 'deadline' ? this.responses.size : 0;
    for (const socket of this.sockets.keys()) {
      if (outcome === 'deadline') socket.destroy();
      else socket.end();
    }
    // Sockets that ignore end() (a client that never reads) must not hold the drain forever.
    const straggler = setTimeout(() => {
      for (const socket of this.sockets.keys()) socket.destroy();
    }, 1_000);
    straggler.unref();
    await closed;
    clearTimeout(straggler);
    this.detach();
    return { abandonedRequests };
  }

  /** Stops tracking (the server is left as it is). */
  detach(): void {
    this.server.off('connection', this.onConnection);
    this.server.off('request', this.onRequest);
  }

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
    this.sockets.set(socket, (this.sockets.get(socket) ?? 0) + 1);
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

// Connections that connect and say nothing, held open against an endpoint for as long as a bench runs: each one
// the endpoint closes (its handshake timeout) is opened again at once, so `count` are open throughout. They come
// from another loopback address (127.0.0.2 by default), as an attacker elsewhere than the pool would.
import net from 'node:net';

export class SilentConnections {
  /** Connections the endpoint closed (and that were opened again). */
  closedByEndpoint = 0;
  private readonly sockets = new Set<net.Socket>();
  private stopped = false;

  constructor(private readonly port: number, private readonly count: number, private readonly localAddress = '127.0.0.2') {}

  /** Opens `count` connections; resolves once each has connected. */
  async start(): Promise<void> {
    await Promise.all(Array.from({ length: this.count }, () => this.openOne()));
  }

  /** How many are open now. */
  get open(): number {
    return this.sockets.size;
  }

  stop(): void {
    this.stopped = true;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  private openOne(): Promise<void> {
    return new Promise((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port: this.port, localAddress: this.localAddress }, () => resolve());
      this.sockets.add(socket);
      socket.on('error', () => resolve());
      socket.on('close', () => {
        this.sockets.delete(socket);
        if (this.stopped) return;
        this.closedByEndpoint += 1;
        void this.openOne();
      });
    });
  }
}

/**
 * What a connection may hold before it has sent a request, and how many it may hold at all: a client that
 * connects and says nothing, stops halfway through a TLS record or trickles its headers must not keep a socket
 * (a file descriptor) for long, and no address, nor all of them together, may take the descriptors the store
 * needs (etcd's connections, the file store's files).
 *
 * Node 20 facts this relies on (Node v20 docs and source, read 2026-12-06):
 * - tls.createServer `handshakeTimeout` aborts a handshake not finished in time and emits 'tlsClientError'
 *   (default 120000 ms; https://nodejs.org/docs/latest-v20.x/api/tls.html#tlscreateserveroptions-secureconnectionlistener).
 *   An https.Server forwards 'tlsClientError' to 'clientError' and destroys the socket only when nobody listens
 *   there (lib/https.js, `Server`): a 'clientError' listener must close a socket that is still in its handshake.
 * - http `server.timeout`: milliseconds of inactivity before a socket is destroyed; default 0 (none) since v13
 *   (https://nodejs.org/docs/latest-v20.x/api/http.html#servertimeout).
 * - `headersTimeout` (default min(60000, requestTimeout)) and `requestTimeout` (default 300000) are checked every
 *   `connectionsCheckingInterval` (default 30000 ms); a connection past them is answered 408 and closed
 *   (https://nodejs.org/docs/latest-v20.x/api/http.html#httpcreateserveroptions-requestlistener; PR #45778).
 *   For HTTPS they start after the handshake: the HTTP parser is attached on 'secureConnection'.
 * - `server.maxConnections`: past it, net.Server closes the new connection at once and emits 'drop' (v18.6)
 *   (https://nodejs.org/docs/latest-v20.x/api/net.html#servermaxconnections).
 * - `socket.resetAndDestroy()` closes with a TCP RST (v18.3; https://nodejs.org/docs/latest-v20.x/api/net.html#socketresetanddestroy).
 * - At start Node raises the soft RLIMIT_NOFILE to the hard one (src/node.cc, "Raise the open file descriptor
 *   limit"), so /proc/self/limits shows what this process may open; Node has no getrlimit of its own.
 */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:net';
import type { Socket } from 'node:net';

export interface ConnectionLimits {
  /** A TLS handshake not finished by then is aborted and its socket destroyed. */
  handshakeTimeoutMs: number;
  /** A socket with no bytes in either direction for this long is destroyed (a client that stopped reading, too). */
  idleTimeoutMs: number;
  /** Complete request headers within this, or 408 and close (node checks every `checkIntervalMs`). */
  headersTimeoutMs: number;
  /** The whole request within this, or 408 and close. */
  requestTimeoutMs: number;
  /** An idle kept-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** How often node looks for connections past headersTimeout/requestTimeout. */
  checkIntervalMs: number;
  /** Open connections in all, per listener; a connection past it is closed at once. */
  maxConnections: number;
  /** Open connections from one source address, per listener; a connection past it is reset at once. */
  maxConnectionsPerAddress: number;
}

/** Descriptors left for everything but client connections: the store (etcd's gRPC channels, the file store's open files), logs, listeners. */
const FD_RESERVE = 256;
/** Beyond this many connections memory, not descriptors, runs out first (a TLS socket holds tens of KiB). */
const MAX_CONNECTIONS_CEILING = 8192;
/**
 * Enough for a pool behind one NAT to boot at once: each booting agent holds one short connection at a time, and
 * bench/join-burst.ts sends 1,000 nodes at once from one address. A pool larger than that whose nodes all boot in
 * the same second is refused some connections, and its agents retry them (a reset is a transient error).
 */
const PER_ADDRESS_CEILING = 2048;

export function defaultConnectionLimits(openFiles = openFileLimit()): ConnectionLimits {
  const reserve = Math.min(FD_RESERVE, Math.floor(openFiles / 4));
  const maxConnections = Math.max(16, Math.min(MAX_CONNECTIONS_CEILING, openFiles - reserve));
  return {
    // An honest handshake is one or two round trips and a millisecond of the endpoint's CPU, but a burst of a
    // thousand on a loaded machine queues: bench/join-burst.ts on 2 cores at load 9–12 (2026-12-06) had 353 of
    // 2,400 connections cut by a 10 s timeout and none by 30 s (floor p99 23 s). The caps, not this, bound what
    // silent connections can hold; this only makes them cycle.
    handshakeTimeoutMs: 30_000,
    idleTimeoutMs: 30_000,
    headersTimeoutMs: 15_000,
    requestTimeoutMs: 30_000,
    // Not Node's 5 s: its keep-alive timer is a socket timeout, and after a long poll phase (a burst's handshakes
    // on one core) node runs expired timers before it reads the sockets, so a connection whose next request
    // already waits in the kernel is closed under it and the client sees "socket hang up". bench/join-burst.ts
    // --silent 500 on 2 cores at load 8–10 (2026-12-06): 418 and 888 of 2,000 first reports lost at 5 s, none in
    // two runs at 30 s. Honest clients close their connection when done; what an idle one holds is what a silent
    // one already may (the caps below bound both).
    keepAliveTimeoutMs: 30_000,
    checkIntervalMs: 5_000,
    maxConnections,
    // Half of all at most: one address can never take every connection.
    maxConnectionsPerAddress: Math.max(1, Math.min(PER_ADDRESS_CEILING, Math.floor(maxConnections / 2))),
  };
}

/** The soft limit on open files of this process (proc(5), /proc/PID/limits), or 1024 where it cannot be read. */
export function openFileLimit(limitsText = readLimits()): number {
  const line = limitsText.split('\n').find((l) => l.startsWith('Max open files'));
  const soft = Number(line?.split(/\s{2,}/)[1]);
  return Number.isInteger(soft) && soft > 0 ? soft : 1024;
}

function readLimits(): string {
  try {
    return readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return '';
  }
}

/**
 * Caps `server`'s connections, in all and per source address. Runs before any TLS or HTTP work on the socket,
 * so a refused connection costs nothing but its accept; it is reset, never held.
 */
export function capConnections(server: Server, limits: Pick<ConnectionLimits, 'maxConnections' | 'maxConnectionsPerAddress'>, onRefused: (reason: 'total' | 'address') => void): void {
  server.maxConnections = limits.maxConnections;
  server.on('drop', () => onRefused('total'));
  const open = new Map<string, number>();
  server.prependListener('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? 'unknown';
    const count = open.get(address) ?? 0;
    if (count >= limits.maxConnectionsPerAddress) {
      onRefused('address');
      socket.resetAndDestroy();
      return;
    }
    open.set(address, count + 1);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left > 0) open.set(address, left);
      else open.delete(address);
    });
  });
}

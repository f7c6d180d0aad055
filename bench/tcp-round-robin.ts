// One address in front of several `labimg serve` replicas, for bench/scale-out.ts: a TCP proxy that hands each
// new connection to the next replica in turn and pipes bytes both ways. TLS passes through untouched, so each
// node still makes its pinned handshake with a replica. It stands in for what a deployment puts there (a cloud
// load balancer, HAProxy in TCP mode, kube-proxy); Node 20's net.Server cannot share one port between processes
// (listen's reusePort came with nodejs/node PR #55408, commit 1628c48, after Node 20; read 2026-12-05; on
// Node 20.20 a second listener with reusePort gets EADDRINUSE).
//   node --import=tsx bench/tcp-round-robin.ts PORT...     prints "listening PORT" once it accepts
import net from 'node:net';

const backends = process.argv.slice(2).map(Number);
if (backends.length === 0 || backends.some((port) => !Number.isInteger(port))) {
  console.error('usage: tcp-round-robin.ts PORT...');
  process.exit(2);
}

let next = 0;
const server = net.createServer((client) => {
  const port = backends[next % backends.length] as number;
  next += 1;
  const replica = net.connect({ host: '127.0.0.1', port });
  // Either side closing or failing ends both, as a load balancer does.
  client.on('error', () => replica.destroy());
  replica.on('error', () => client.destroy());
  client.pipe(replica).pipe(client);
});
// A burst arrives all at once: the default backlog, 511 (Node's net docs, server.listen; read 2026-12-05), would
// drop connections past it, whose clients then wait a second to retry.
server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
  console.log(`listening ${(server.address() as net.AddressInfo).port}`);
});
process.on('SIGTERM', () => process.exit(0));

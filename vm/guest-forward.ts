/**
 * A guest forward: the VM connects to an address inside qemu's user-mode network (10.0.2.100:8443) and
 * reaches a port on this host's loopback, the one way out of an offline VM. qemu's guestfwd to a `tcp:`
 * character device would carry one stream for the VM's whole life, opened when qemu starts; each TLS
 * connection needs its own. So qemu spawns a relay per connection (guestfwd's `cmd:`), its stdin and stdout
 * the guest's connection: this file, run by the Node that runs labimg.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';

/** Copies stdin to HOST:PORT and back, ending each direction when its side ends. */
const RELAY_SOURCE = `'use strict';
// Written by labimg boot: qemu runs it for each guest connection to a forwarded address.
const net = require('net');
const [host, port] = process.argv.slice(2);
const socket = net.connect(Number(port), host);
process.stdin.pipe(socket);
socket.pipe(process.stdout);
socket.on('error', () => process.exit(1));
socket.on('close', () => process.exit(0));
`;

/** Writes the relay into the VM's work folder; returns the command qemu runs it with (before HOST PORT). */
export function writeRelay(workDir: string, node: string = process.execPath): string[] {
  const script = path.join(workDir, 'guest-forward-relay.cjs');
  writeFileSync(script, RELAY_SOURCE, { mode: 0o644 });
  return [node, script];
}

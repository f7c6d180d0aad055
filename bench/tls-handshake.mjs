// What one TLS handshake costs in Node on this machine, for the two key types an endpoint CA could use:
// 500 handshakes one after another over loopback, client and server in this one process, so the CPU time
// per handshake is both sides' share. The floor under every node that enrolls with `labimg serve`.
//   npm run bench:tls
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';

const HANDSHAKES = Number(process.env.HANDSHAKES ?? 500);
const dir = mkdtempSync(path.join(tmpdir(), 'labimg-tls-bench-'));

/** A self-signed certificate and key made by openssl, as PEM. */
function identity(name, keyArgs) {
  const key = path.join(dir, `${name}.key`);
  const cert = path.join(dir, `${name}.crt`);
  execFileSync('openssl', ['req', '-x509', '-nodes', '-days', '1', '-subj', '/CN=labimg-bench', '-newkey', ...keyArgs, '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { key: readFileSync(key), cert: readFileSync(cert) };
}

async function measure(name, keyArgs) {
  const server = tls.createServer(identity(name, keyArgs), (socket) => socket.end('ok'));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < HANDSHAKES; i++) {
    await new Promise((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
      socket.on('data', () => {});
      socket.on('end', () => resolve(socket.destroy()));
      socket.on('error', reject);
    });
  }
  const wall = performance.now() - started;
  const used = process.cpuUsage(cpu);
  server.close();
  return `| ${name} | ${((used.user + used.system) / 1000 / HANDSHAKES).toFixed(2)} ms | ${(wall / HANDSHAKES).toFixed(2)} ms |`;
}

try {
  console.log(`${HANDSHAKES} TLS handshakes one after another, Node ${process.version}\n`);
  console.log('| server key | CPU per handshake (both sides) | wall per handshake |\n|---|---:|---:|');
  console.log(await measure('RSA-2048', ['rsa:2048']));
  console.log(await measure('ECDSA P-256', ['ec', '-pkeyopt', 'ec_paramgen_curve:P-256']));
} finally {
  rmSync(dir, { recursive: true, force: true });
}

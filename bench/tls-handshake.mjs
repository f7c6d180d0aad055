// What one TLS handshake to `labimg serve` costs in CPU, client and server together, for the chains an
// endpoint can present. Per chain, 500 of each, one after another over loopback, client and server in this one
// process (so the CPU time is both sides' share):
//   - a bare handshake: tls.connect, closed once it is done;
//   - a pinned connection: a new agent pinned client (agent/endpoint/pinned-https.ts: one handshake, the pin and
//     the CA's signature checked by hand) making one request, as a node that enrolls does.
// The floor under every node that enrolls. Every figure is also a ratio to the first chain's, measured in the
// same run.
//   npm run bench:tls
//
// 1. RSA-2048 CA, RSA-2048 server key: what the endpoint presented before it used ECDSA P-256 (made by openssl).
// 2. RSA-2048 CA, P-256 server key: an endpoint whose store still holds an RSA CA, as it serves now.
// 3. P-256 CA, P-256 server key: an endpoint whose CA was made (or replaced) since.
//
// Then what the handshakes are made of: node:crypto's CPU per signature, per verification and per key made (the
// endpoint makes a server key on every start), for each key type.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { PinnedHttpsClient } from '../agent/endpoint/pinned-https.ts';
import { caFingerprintOf, issueServerIdentity, loadOrCreateCa } from '../endpoint/pki.ts';
import { FileStore } from '../endpoint/store/file-store.ts';

const HANDSHAKES = Number(process.env.HANDSHAKES ?? 500);
const ROUNDS = 5;
const dir = mkdtempSync(path.join(tmpdir(), 'labimg-tls-bench-'));
const file = (name) => path.join(dir, name);
const openssl = (...args) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });

/** An RSA-2048 CA made by openssl, as the endpoint's store holds it: certificate and PKCS #8 key, PEM. */
function rsaCa() {
  openssl('req', '-x509', '-nodes', '-days', '30', '-subj', '/CN=labimg endpoint CA bench', '-newkey', 'rsa:2048', '-keyout', file('ca.key'), '-out', file('ca.crt'),
    '-addext', 'basicConstraints=critical,CA:TRUE,pathlen:0', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  return { certPem: readFileSync(file('ca.crt'), 'utf8'), keyPem: readFileSync(file('ca.key'), 'utf8') };
}

/** An RSA-2048 server certificate signed by `ca`, with the extensions the endpoint's RSA one had. */
function rsaServer(ca) {
  openssl('req', '-new', '-nodes', '-subj', '/CN=labimg endpoint', '-newkey', 'rsa:2048', '-keyout', file('server.key'), '-out', file('server.csr'));
  writeFileSync(file('server.ext'), 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n');
  openssl('x509', '-req', '-in', file('server.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial', '-days', '30', '-sha256', '-extfile', file('server.ext'), '-out', file('server.crt'));
  return { certChainPem: `${readFileSync(file('server.crt'), 'utf8')}${ca.certPem}`, keyPem: readFileSync(file('server.key'), 'utf8') };
}

/** An HTTPS server presenting `identity`; a bare handshake with it, and a request through a new client pinned to `ca`. */
async function endpointOf(name, ca, identity) {
  const server = https.createServer({ cert: identity.certChainPem, key: identity.keyPem }, (_req, res) => res.end('ok'));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  const pin = caFingerprintOf(ca.certPem);
  return {
    name,
    totals: { bare: 0, pinned: 0, pinnedWall: 0 },
    bare: () =>
      new Promise((resolve, reject) => {
        const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => socket.end());
        socket.on('close', resolve);
        socket.on('error', reject);
      }),
    async pinned() {
      // A client per connection, as each new node has: no TLS session to resume.
      const client = new PinnedHttpsClient(`https://127.0.0.1:${port}`, pin, 10_000);
      const { status } = await client.request('GET', '/');
      client.close();
      if (status !== 200) throw new Error(`${name}: status ${status}`);
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** `count` runs of `work` one after another: CPU and wall milliseconds. */
async function measure(work, count) {
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < count; i++) await work();
  const used = process.cpuUsage(cpu);
  return { cpu: (used.user + used.system) / 1000, wall: performance.now() - started };
}

/** CPU milliseconds of `count` calls of `work`. */
function measureSync(work, count) {
  const cpu = process.cpuUsage();
  for (let i = 0; i < count; i++) work();
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / 1000;
}

try {
  const oldCa = rsaCa();
  const { ca: newCa } = await loadOrCreateCa(new FileStore(file('store')));
  const names = ['127.0.0.1'];
  const endpoints = [
    await endpointOf('RSA-2048 CA, RSA-2048 server key (before)', oldCa, rsaServer(oldCa)),
    await endpointOf('RSA-2048 CA, P-256 server key (a kept RSA CA)', oldCa, issueServerIdentity(oldCa, names)),
    await endpointOf('P-256 CA, P-256 server key (a new CA)', newCa, issueServerIdentity(newCa, names)),
  ];
  // Warmed up first, then measured in interleaved rounds, so neither JIT warm-up nor a drift in the
  // machine's speed lands on one chain only.
  for (const endpoint of endpoints) {
    for (let i = 0; i < 20; i++) {
      await endpoint.bare();
      await endpoint.pinned();
    }
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const endpoint of endpoints) {
      endpoint.totals.bare += (await measure(endpoint.bare, HANDSHAKES / ROUNDS)).cpu;
      const pinned = await measure(endpoint.pinned, HANDSHAKES / ROUNDS);
      endpoint.totals.pinned += pinned.cpu;
      endpoint.totals.pinnedWall += pinned.wall;
    }
  }
  await Promise.all(endpoints.map((endpoint) => endpoint.close()));
  console.log(`${HANDSHAKES} of each per chain, one after another, in ${ROUNDS} interleaved rounds; Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'})\n`);
  console.log('| chain | CPU per bare handshake (both sides) | ratio | CPU per pinned connection (both sides) | ratio | wall per pinned connection |\n|---|---:|---:|---:|---:|---:|');
  const [base] = endpoints;
  const ms = (total) => `${(total / HANDSHAKES).toFixed(2)} ms`;
  for (const { name, totals } of endpoints) {
    console.log(`| ${name} | ${ms(totals.bare)} | ${(totals.bare / base.totals.bare).toFixed(2)}× | ${ms(totals.pinned)} | ${(totals.pinned / base.totals.pinned).toFixed(2)}× | ${ms(totals.pinnedWall)} |`);
  }

  console.log('\n| key | CPU per signature | per verification | per key made (median of 20, max) |\n|---|---:|---:|---:|');
  for (const [name, type, options] of [['RSA-2048', 'rsa', { modulusLength: 2048 }], ['ECDSA P-256', 'ec', { namedCurve: 'prime256v1' }]]) {
    const made = Array.from({ length: 20 }, () => measureSync(() => generateKeyPairSync(type, options), 1)).sort((a, b) => a - b);
    const { privateKey, publicKey } = generateKeyPairSync(type, options);
    const data = Buffer.alloc(64, 1);
    const signature = sign('sha256', data, privateKey);
    measureSync(() => sign('sha256', data, privateKey), 50); // warm-up
    const perSign = measureSync(() => sign('sha256', data, privateKey), 1000) / 1000;
    const perVerify = measureSync(() => verify('sha256', data, publicKey, signature), 1000) / 1000;
    console.log(`| ${name} | ${perSign.toFixed(3)} ms | ${perVerify.toFixed(3)} ms | ${made[10].toFixed(1)} ms, ${made[19].toFixed(1)} ms |`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

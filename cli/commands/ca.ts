/**
 * `labimg ca show | replace`: the endpoint CA that every node pins by fingerprint. Replacing it is the one way
 * to move a site from an RSA-2048 CA (made before labimg used ECDSA P-256) to a P-256 one; it changes the pin,
 * so it is refused unless the operator names the CA being replaced, and refused while a `labimg serve` holds
 * the data directory.
 */
import { X509Certificate } from 'node:crypto';
import { withRegistry } from '../endpoint-store';
import { storeOptionsOf } from '../options';

type StoreArgs = Parameters<typeof withRegistry>[0];

export async function showCa(store: StoreArgs): Promise<void> {
  await withRegistry(store, async (_registry, opened) => {
    const { caFingerprintOf, keyTypeOf, loadCa } = await import('../../endpoint/pki');
    const ca = await loadCa(opened);
    if (ca === undefined) {
      process.stdout.write('no endpoint CA yet: `labimg serve` makes one (ECDSA P-256) on its first start\n');
      return;
    }
    const cert = new X509Certificate(ca.certPem);
    process.stdout.write(`${caFingerprintOf(ca.certPem)}  ${keyTypeOf(ca.certPem)}  valid until ${new Date(cert.validTo).toISOString()}\n`);
  }, { readOnly: true });
}

export async function replaceEndpointCa(store: StoreArgs, replacing: string): Promise<void> {
  // The file store belongs to one `labimg serve`; a running one would keep serving under the old CA until
  // restarted, so the replacement waits until it is stopped. Replicas on etcd cannot be seen from here.
  const { lockDataDir } = await import('../../endpoint/data-dir-lock');
  const unlock = store.etcd?.length ? async () => {} : await lockDataDir(storeOptionsOf(store).data);
  try {
    await withRegistry(store, async (registry, opened) => {
      const { caFingerprintOf, keyTypeOf, replaceCa } = await import('../../endpoint/pki');
      const { previous, ca } = await replaceCa(opened, replacing);
      const [before, after] = [caFingerprintOf(previous.certPem), caFingerprintOf(ca.certPem)];
      await registry.audit({ action: 'ca-replaced', reason: `${before} (${keyTypeOf(previous.certPem)}) replaced by ${after} (${keyTypeOf(ca.certPem)})` });
      process.stderr.write(
        `replaced the endpoint CA ${before} (${keyTypeOf(previous.certPem)}) with ${after} (${keyTypeOf(ca.certPem)}).\n` +
          'Start every labimg serve on this store again. Nodes that pin the old fingerprint now refuse the endpoint:\n' +
          'write their user-data again (labimg build --endpoint-ca-fingerprint NEW), and on nodes already running set\n' +
          'endpoint.caFingerprint in /etc/labimg/node.json to NEW.\n',
      );
      // The new fingerprint alone on stdout, for scripts.
      process.stdout.write(`${after}\n`);
    });
  } finally {
    await unlock();
  }
}

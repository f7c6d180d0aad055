/** `labimg audit`: who did what, from where: pools, tokens, enrollments, join material, PXE configs served. */
import { withRegistry } from '../endpoint-store';

export async function showAuditTrail(store: Parameters<typeof withRegistry>[0], options: { json: boolean }): Promise<void> {
  await withRegistry(store, async (registry) => {
    const events = await registry.auditTrail();
    if (options.json) {
      process.stdout.write(`${JSON.stringify(events, null, 2)}\n`);
      return;
    }
    for (const e of events) {
      const fields = [
        e.pool && `pool=${e.pool}`,
        e.node && `node=${e.node}`,
        e.mac && `mac=${e.mac}`,
        e.repeats && `repeats=${e.repeats}`,
        e.tokenId && `token=${e.tokenId}`,
        e.instance && `instance=${JSON.stringify(e.instance)}`,
        e.source && `from=${e.source}`,
        e.certificateKey ? 'with-certificate-key' : undefined,
        e.reason && `reason=${JSON.stringify(e.reason)}`,
      ];
      process.stdout.write(`${e.at}  ${e.action.padEnd(24)} ${fields.filter(Boolean).join(' ')}\n`);
    }
  }, { readOnly: true });
}

/**
 * The NoCloud seed a `labimg boot` VM reads its instance config from: an ISO 9660 image labelled "cidata"
 * holding user-data and meta-data, as cloud-localds makes it. Made with whichever tool this host has.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

/** The tools that write an ISO 9660 image with Joliet and Rock Ridge, each with the argv it takes. */
const ISO_TOOLS: ReadonlyArray<{ command: string; args: (iso: string, files: string[]) => string[] }> = [
  // cloud-localds takes network-config by option only (cloud-localds --help: "-N | --network-config=F").
  { command: 'cloud-localds', args: (iso, files) => [...files.filter((f) => f.endsWith('/network-config')).map((f) => `--network-config=${f}`), iso, ...files.filter((f) => !f.endsWith('/network-config'))] },
  { command: 'genisoimage', args: (iso, files) => ['-output', iso, '-volid', 'cidata', '-joliet', '-rock', '-quiet', ...files] },
  { command: 'xorriso', args: (iso, files) => ['-as', 'mkisofs', '-output', iso, '-volid', 'cidata', '-joliet', '-rock', '-quiet', ...files] },
  { command: 'mkisofs', args: (iso, files) => ['-output', iso, '-volid', 'cidata', '-joliet', '-rock', '-quiet', ...files] },
];

export class SeedError extends Error {}

/** meta-data: the instance id makes cloud-init treat each new seed as a new instance. */
export function renderMetaData(instanceId: string, hostname: string): string {
  return `instance-id: ${instanceId}\nlocal-hostname: ${hostname}\n`;
}

/**
 * Writes user-data and meta-data (and network-config, when given) into `dir` and makes `dir/seed.iso` of
 * them; returns the ISO's path.
 */
export function writeSeed(dir: string, userData: Buffer, metaData: string, networkConfig?: string): string {
  const files = [path.join(dir, 'user-data'), path.join(dir, 'meta-data')];
  // The user-data may carry an enrollment token: only its owner may read it.
  writeFileSync(files[0] as string, userData, { mode: 0o600 });
  writeFileSync(files[1] as string, metaData);
  if (networkConfig !== undefined) {
    files.push(path.join(dir, 'network-config'));
    writeFileSync(files[2] as string, networkConfig);
  }
  const iso = path.join(dir, 'seed.iso');
  for (const tool of ISO_TOOLS) {
    const result = spawnSync(tool.command, tool.args(iso, files), { encoding: 'utf8' });
    if (result.error && (result.error as NodeJS.ErrnoException).code === 'ENOENT') continue;
    if (result.status !== 0) throw new SeedError(`${tool.command} could not write the NoCloud seed: ${(result.stderr || result.error?.message || '').trim()}`);
    return iso;
  }
  throw new SeedError('no tool to write the NoCloud seed: install cloud-image-utils (cloud-localds) or genisoimage');
}

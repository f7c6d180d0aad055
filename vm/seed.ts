/**
 * The NoCloud seed a `labimg boot` VM reads its instance config from: an ISO 9660 image labelled "cidata"
 * holding user-data and meta-data, as cloud-localds makes it. Made with whichever tool this host has.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { privateWorkDirBeside, writePrivateFile } from '../contract/private-file';

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
 * them; returns the ISO's path. The user-data may carry an enrollment token, and the ISO carries the user-data,
 * so both are 0600 whatever the umask, and replace (never reuse) a file of a wider mode left in `dir` (a `--work`
 * folder made by hand, an earlier labimg): see ../contract/private-file.ts.
 */
export function writeSeed(dir: string, userData: Buffer, metaData: string, networkConfig?: string): string {
  const files = [path.join(dir, 'user-data'), path.join(dir, 'meta-data')];
  writePrivateFile(files[0] as string, userData);
  writePrivateFile(files[1] as string, metaData, 0o644);
  if (networkConfig !== undefined) {
    files.push(path.join(dir, 'network-config'));
    writePrivateFile(files[2] as string, networkConfig, 0o644);
  }
  const iso = path.join(dir, 'seed.iso');
  // The tools create the ISO with the umask's mode; made in a folder only this user can enter, it is made 0600
  // before it is renamed into place.
  const staging = privateWorkDirBeside(iso);
  try {
    const made = path.join(staging, 'seed.iso');
    for (const tool of ISO_TOOLS) {
      const result = spawnSync(tool.command, tool.args(made, files), { encoding: 'utf8' });
      if (result.error && (result.error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      if (result.status !== 0) throw new SeedError(`${tool.command} could not write the NoCloud seed: ${(result.stderr || result.error?.message || '').trim()}`);
      chmodSync(made, 0o600);
      renameSync(made, iso);
      return iso;
    }
    throw new SeedError('no tool to write the NoCloud seed: install cloud-image-utils (cloud-localds) or genisoimage');
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

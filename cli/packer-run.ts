/**
 * `labimg build P --packer`: bake the profile's images with the Packer on PATH. It runs another program, so
 * it lives with the commands, apart from the pure renderers in builder/render/packer.ts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { UserError } from '../contract/errors';
import type { ImageSources, Profile } from '../builder/profiles';
import { PACKER_SOURCES, packerInvocations, packerSourceKind, packerSourcesOf, type PackerSourceKind } from '../builder/render/packer';
import { newBuildKeyPair, renderPackerSeed } from '../builder/render/packer-seed';

/** No update check against checkpoint.hashicorp.com. */
const PACKER_ENV = { ...process.env, CHECKPOINT_DISABLE: '1' };

/** What `packer version` prints, or undefined when there is no packer on PATH. */
export function installedPackerVersion(): string | undefined {
  const result = spawnSync('packer', ['version'], { encoding: 'utf8', env: PACKER_ENV });
  if (result.error || result.status !== 0) return undefined;
  return result.stdout.trim();
}

/**
 * Everything --packer needs, checked before anything is written: a profile that names a base image (each one
 * `only` asks for), and Packer itself. Throws one line that says what to do.
 */
export function checkPackerReady(profile: Profile, only?: readonly string[]): { image: ImageSources; packerVersion: string; only?: PackerSourceKind[] } {
  const image = profile.image;
  const offered = image ? packerSourcesOf(image) : [];
  if (!image || offered.length === 0) {
    throw new UserError(`--packer: profile ${profile.name} names no base image to bake from (image.cloud or image.amazon in ${profile.file}); nothing was written`);
  }
  const kinds = only?.map((name) => {
    const kind = packerSourceKind(name);
    if (kind === undefined) throw new UserError(`--packer-only: expected ${Object.values(PACKER_SOURCES).join(' or ')}, got "${name}"; nothing was written`);
    if (!offered.includes(kind)) throw new UserError(`--packer-only ${name}: profile ${profile.name} names no ${kind === 'cloud' ? 'cloud image (image.cloud)' : 'AMI (image.amazon)'}; nothing was written`);
    return kind;
  });
  const packerVersion = installedPackerVersion();
  if (packerVersion === undefined) {
    throw new UserError('--packer: packer is not on PATH; install Packer (Debian 12: apt-get install packer; elsewhere: https://developer.hashicorp.com/packer/install) and run again; nothing was written');
  }
  return { image, packerVersion, ...(kinds ? { only: kinds } : {}) };
}

/**
 * Runs `packer init` (where needed) and one `packer build` per source, in the build folder, in the terminal,
 * stopping at the first failure. The qemu bake's seed, with its key pair, lives in a private temp folder
 * for the length of the run and is deleted however the run ends.
 */
export function runPacker(args: { image: ImageSources; packerVersion: string; only?: PackerSourceKind[]; profileName: string; buildDir: string; templateDir: string }): void {
  // mkdtemp makes the folder 0700, so no other user can read the private key while Packer runs.
  const seedDir = mkdtempSync(path.join(tmpdir(), 'labimg-packer-seed-'));
  try {
    for (const file of renderPackerSeed(newBuildKeyPair())) writeFileSync(path.join(seedDir, file.name), file.content, { mode: file.mode });
    for (const [command, ...rest] of packerInvocations({ ...args, seedDir })) {
      process.stdout.write(`$ ${[command, ...rest].join(' ')}\n`);
      const result = spawnSync(command as string, rest, { cwd: args.buildDir, stdio: 'inherit', env: PACKER_ENV });
      if (result.status !== 0) throw new UserError(`${command} ${rest[0] ?? ''} failed (exit ${result.status ?? result.signal}); the build in ${args.buildDir} is complete, the image is not`);
    }
  } finally {
    rmSync(seedDir, { recursive: true, force: true });
  }
}

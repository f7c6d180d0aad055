/**
 * A baked image, made the way Packer makes one (packer/build.pkr.hcl): a VM from the base image gets the
 * build folder in /tmp/labimg-build, runs packer/scripts/install-agent.sh (the agent's bake phase) and
 * packer/scripts/cleanup.sh, and powers off; its disk is the image. The same two scripts, run by a systemd
 * unit after first boot as Packer's shell provisioner runs them over SSH after first boot. Cached by a hash
 * of the base image and everything that goes in.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { dump } from 'js-yaml';
import type { GuestForward } from '../../vm/qemu';
import { runVm, type VmResult } from '../../vm/vm';
import { repoRoot } from '../../test/helpers/cli';
import type { BootImage } from './image';

const STAGING = '/tmp/labimg-build';
const SCRIPTS = '/tmp/labimg-packer-scripts';

/**
 * The template's image_files and instance_paths as the build's vars file gives them (HCL lists of plain
 * strings, which read as JSON), joined as build.pkr.hcl's script_environment joins them for the scripts.
 */
function bakeLists(buildDir: string): { imageFiles: string[]; instancePaths: string[] } {
  const varsFile = readdirSync(buildDir).find((name) => name.endsWith('.pkrvars.hcl'));
  if (!varsFile) throw new Error(`${buildDir} has no Packer vars file: the VM profile must name a cloud image`);
  const text = readFileSync(path.join(buildDir, varsFile), 'utf8');
  const list = (name: string): string[] => {
    const value = new RegExp(`^${name}\\s*=\\s*(\\[.*\\])$`, 'm').exec(text)?.[1];
    if (value === undefined) throw new Error(`${varsFile} sets no ${name}`);
    return JSON.parse(value) as string[];
  };
  return { imageFiles: list('image_files'), instancePaths: list('instance_paths') };
}

/** The build files a bake uploads: those image_files names. */
function buildFiles(buildDir: string): string[] {
  return bakeLists(buildDir).imageFiles.map((file) => file.slice(0, file.indexOf(':')));
}

export interface BakedImage {
  /** The bake VM's disk: a qcow2 over the base image, to start instances from. */
  disk: string;
  bake?: VmResult;
}

function bakeUserData(buildDir: string): string {
  const lists = bakeLists(buildDir);
  const file = (target: string, source: string, permissions: string) => ({
    path: target,
    permissions,
    encoding: 'b64',
    content: readFileSync(source).toString('base64'),
  });
  const scripts = ['install-agent.sh', 'cleanup.sh'];
  const bake = [
    `sh ${SCRIPTS}/install-agent.sh && sh ${SCRIPTS}/cleanup.sh`,
    // The outcome on the console, for the test; then off, like Packer's shutdown_command.
    'echo "LABIMG-E2E-BAKE $?" > /dev/console',
    'systemctl poweroff',
  ].join('; ');
  const config = {
    write_files: [
      ...buildFiles(buildDir).map((name) => file(`${STAGING}/${name}`, path.join(buildDir, name), name.endsWith('.sh') ? '0755' : '0644')),
      ...scripts.map((name) => file(`${SCRIPTS}/${name}`, path.join(repoRoot, 'packer', 'scripts', name), '0755')),
    ],
    // Packer shows a provisioner's output; here the console does, in the bake's serial log.
    runcmd: [['systemd-run', '--unit=labimg-bake', '--property=StandardOutput=journal+console', '--property=StandardError=journal+console', '--setenv=PACKER_BUILDER_TYPE=qemu', `--setenv=LABIMG_STAGING=${STAGING}`, `--setenv=LABIMG_IMAGE_FILES=${lists.imageFiles.join(' ')}`, `--setenv=LABIMG_INSTANCE_PATHS=${lists.instancePaths.join(' ')}`, '/bin/sh', '-c', bake]],
  };
  return `#cloud-config\n${dump(config, { lineWidth: -1 })}`;
}

/**
 * The image baked from `base` with the build in `buildDir`, from the cache when it was baked before. The bake
 * VM is online, with `forwards` to what the build downloads from this host.
 */
export async function bakedImage(base: BootImage, buildDir: string, cacheDir: string, forwards: readonly GuestForward[]): Promise<BakedImage> {
  const hash = createHash('sha256').update(base.disk);
  for (const name of buildFiles(buildDir)) hash.update(readFileSync(path.join(buildDir, name)));
  hash.update(JSON.stringify(bakeLists(buildDir)));
  for (const name of ['install-agent.sh', 'cleanup.sh']) hash.update(readFileSync(path.join(repoRoot, 'packer', 'scripts', name)));
  // The guest's stand-ins (kubeadm, kubectl, the checker) are packaged into the repository the bake installs
  // from: a change to them must bake again, not boot an image that holds the old ones.
  const guest = path.join(repoRoot, 'e2e', 'guest');
  for (const name of readdirSync(guest).sort()) hash.update(name).update(readFileSync(path.join(guest, name)));
  const dir = path.join(cacheDir, `baked-${hash.digest('hex').slice(0, 16)}`);
  const disk = path.join(dir, 'disk.qcow2');
  if (existsSync(disk)) return { disk };
  const work = `${dir}.tmp-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  const bake = await runVm({
    workDir: work,
    baseImage: base.disk,
    userData: Buffer.from(bakeUserData(buildDir)),
    hostname: 'labimg-packer-build',
    kernel: { kernel: base.kernel, initrd: base.initrd, append: base.append },
    accel: 'auto',
    memoryMiB: 2048,
    cpus: 2,
    offline: false,
    forwards,
    timeoutMs: 30 * 60_000,
  });
  const outcome = /LABIMG-E2E-BAKE (\d+)/.exec(readFileSync(bake.serialLog, 'utf8'))?.[1];
  if (bake.code !== 0 || outcome !== '0') {
    throw new Error(`the bake failed (qemu ${bake.code}${bake.timedOut ? ', timed out' : ''}, scripts ${outcome ?? 'never finished'}); console: ${bake.serialLog}`);
  }
  renameSync(work, dir);
  return { disk, bake };
}

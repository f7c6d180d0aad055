/**
 * `labimg boot PROFILE`: the profile's user-data for one role, on a local qemu VM (KVM when it works, TCG
 * otherwise), with the console logged and the agent's progress on the terminal, one line a step. For labs,
 * and for the end-to-end tests, which boot a real machine with exactly what `labimg build` writes.
 */
import path from 'node:path';
import type { Role } from '../../contract/agent-config';
import { UserError } from '../../contract/errors';
import { renderBuild, type ControlPlaneSettings, type Enrollment, type JoinMaterial, type UserScript } from '../../builder/build';
import type { MirrorPresetName } from '../../builder/mirrors/types';
import { loadProfile } from '../profile-cache';
import { cachedCloudImage } from '../../vm/base-image';
import { formatEvent } from '../../vm/progress';
import { lanMac, parseLanAddress, parseLanGroup, type Lan } from '../../vm/lan';
import { parseGuestForward, parseHostForward, type Accelerator } from '../../vm/qemu';
import { runVm } from '../../vm/vm';
import { buildInputs, requireCloudInit } from '../build-inputs';
import { parseDuration } from '../inputs/duration';
import { readControlPlaneSettings, type ControlPlaneFlags } from '../inputs/control-plane';
import { enrollmentTokenOf, readEnrollment, type EnrollmentFlags } from '../inputs/enrollment';
import { readJoinMaterial, type JoinFlags } from '../inputs/join';
import { readUserScripts } from '../inputs/user-scripts';

interface Instance {
  profileName: string;
  /** The role's user-data, multipart when there are scripts. */
  userData: Buffer;
  cloudImage?: { url: string; checksum: string };
}

/** The profile's user-data for `role`, exactly as `labimg build` writes it, and its cloud image if it names one. */
function instanceOf(options: {
  profile: string;
  profilesDir: string;
  mirror?: MirrorPresetName;
  role: Role;
  enrollment?: Enrollment;
  join?: JoinMaterial;
  controlPlane?: ControlPlaneSettings;
  userScripts: UserScript[];
}): Instance {
  const { role, userScripts } = options;
  const profile = loadProfile(options.profile, { dir: options.profilesDir, mirror: options.mirror });
  const inputs = { ...buildInputs(profile, { enrollment: options.enrollment, join: options.join, controlPlane: options.controlPlane }), userScripts };
  requireCloudInit(inputs);
  const userData = renderBuild(inputs).find((file) => file.name === `user-data-${role}.${userScripts.length > 0 ? 'mime' : 'yaml'}`);
  if (!userData) throw new Error(`the build of ${profile.name} has no user-data for ${role}`);
  return { profileName: profile.name, userData: userData.content, ...(profile.image?.cloud ? { cloudImage: profile.image.cloud } : {}) };
}

function kernelOf(argv: { kernel?: string; initrd?: string; append?: string }): { kernel: string; initrd: string; append: string } | undefined {
  const given = [argv.kernel, argv.initrd, argv.append];
  if (given.every((value) => value === undefined)) return undefined;
  if (given.some((value) => value === undefined)) throw new UserError('--kernel, --initrd and --append go together (direct kernel boot of an image without a boot loader)');
  return { kernel: argv.kernel as string, initrd: argv.initrd as string, append: argv.append as string };
}

/** Each value of a repeatable flag through `parse`, an error naming the flag. */
function parseEach<T>(values: string[] | undefined, flag: string, parse: (text: string) => T): T[] {
  return (values ?? []).map((text) => {
    try {
      return parse(text);
    } catch (error) {
      throw new UserError(`${flag}: ${(error as Error).message}`);
    }
  });
}

/** "20G", "512M" → bytes. */
export function parseDiskSize(text: string): number {
  const match = /^([1-9]\d*)([MG])$/.exec(text);
  if (!match) throw new UserError(`--disk-size: expected a size in M or G such as 20G, got "${text}"`);
  return Number(match[1]) * (match[2] === 'G' ? 1024 ** 3 : 1024 ** 2);
}

export interface BootOptions {
  profile: string;
  profilesDir: string;
  mirror?: MirrorPresetName;
  role: Role;
  disk?: string;
  kernel?: string;
  initrd?: string;
  append?: string;
  accel: Accelerator | 'auto';
  diskSize: string;
  memoryMiB: number;
  cpus: number;
  offline: boolean;
  guestForwards?: string[];
  hostForwards?: string[];
  /** MULTICAST-IP:PORT of a network shared with this host's other VMs, and this VM's address/prefix on it. */
  lan?: string;
  lanAddress?: string;
  userScripts?: string[];
  name?: string;
  work?: string;
  timeout: string;
  console: boolean;
  enrollment: EnrollmentFlags;
  join?: JoinFlags;
  controlPlane?: ControlPlaneFlags;
}

/** --lan and --lan-address go together; the MAC follows from the VM's name, so it is the same at every start. */
function lanOf(group: string | undefined, address: string | undefined, name: string): Lan | undefined {
  if (group === undefined && address === undefined) return undefined;
  if (group === undefined || address === undefined) throw new UserError('--lan and --lan-address go together: the segment has no DHCP, so each VM on it needs its address');
  const [checkedGroup] = parseEach([group], '--lan', parseLanGroup);
  const [checkedAddress] = parseEach([address], '--lan-address', parseLanAddress);
  return { group: checkedGroup as string, address: checkedAddress as string, mac: lanMac(name) };
}

/** Boots the VM and waits for it to power off; exit status 1 when a step failed or it timed out. */
export async function bootProfile(options: BootOptions): Promise<void> {
  const enrollment = readEnrollment(options.enrollment);
  // Refused before anything starts: the VM would enroll with nothing that grants its role.
  if (enrollment) enrollmentTokenOf(enrollment, options.role);
  const kernel = kernelOf(options);
  const forwards = parseEach(options.guestForwards, '--guest-forward', parseGuestForward);
  const hostForwards = parseEach(options.hostForwards, '--host-forward', parseHostForward);
  const timeoutMs = parseDuration(options.timeout, '--timeout');
  const diskBytes = parseDiskSize(options.diskSize);
  const instance = instanceOf({
    profile: options.profile,
    profilesDir: options.profilesDir,
    mirror: options.mirror,
    role: options.role,
    enrollment,
    join: readJoinMaterial(options.join ?? {}),
    controlPlane: readControlPlaneSettings(options.controlPlane ?? {}),
    userScripts: readUserScripts(options.userScripts),
  });
  let disk = options.disk;
  if (disk === undefined) {
    if (!instance.cloudImage) throw new UserError(`profile ${instance.profileName} names no cloud image (image.cloud); give the image to start from with --disk`);
    process.stdout.write(`base image: ${instance.cloudImage.url}\n`);
    disk = await cachedCloudImage(instance.cloudImage);
  }
  const name = options.name ?? `${instance.profileName}-${options.role}`;
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) || name.length > 63) throw new UserError(`--name: expected a host name (lowercase letters, digits and "-"), got "${name}"`);
  const lan = lanOf(options.lan, options.lanAddress, name);
  const workDir = options.work ?? path.join('out', 'boot', name);
  process.stdout.write(`booting ${instance.profileName} (${options.role}) in ${workDir}; console log ${path.join(workDir, 'serial.log')}\n`);
  const result = await runVm({
    workDir,
    baseImage: disk,
    userData: instance.userData,
    hostname: name,
    kernel,
    accel: options.accel,
    memoryMiB: options.memoryMiB,
    cpus: options.cpus,
    offline: options.offline,
    forwards,
    hostForwards,
    lan,
    diskBytes,
    timeoutMs,
    onConsole: options.console ? (line) => process.stdout.write(`${line}\n`) : undefined,
    onEvent: options.console ? undefined : (event, seconds) => process.stdout.write(`${formatEvent(event, seconds)}\n`),
  });
  const failed = result.events.some((event) => event.kind === 'failed');
  const ending = result.timedOut ? `stopped after ${options.timeout}` : `powered off after ${Math.round(result.seconds)} s`;
  process.stdout.write(`VM ${ending}${failed ? '; the agent failed (see the console log)' : ''}\n`);
  if (result.code !== 0 && !result.timedOut) process.stderr.write(result.stderr);
  if (result.timedOut || failed || result.code !== 0) process.exitCode = 1;
}

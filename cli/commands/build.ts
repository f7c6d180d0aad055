/**
 * `labimg build P`: everything a node of the profile needs, written into OUT/P/ atomically; with --tar also a
 * byte-stable archive, with --packer then the bake.
 */
import path from 'node:path';
import { sha256Hex } from '../../contract/sha256';
import { UserError } from '../../contract/errors';
import { bootsWithCloudInit, ignitionStubSource, renderBuild, type BuildInputs } from '../../builder/build';
import { isUserData, userDataWarnings, type Manifest } from '../../builder/manifest';
import type { MirrorPresetName } from '../../builder/mirrors/types';
import { keptBuildFor } from '../kept-builds';
import { loadProfile } from '../profile-cache';
import { pxeBootAssets } from '../../builder/render/pxe';
import { buildInputs, requireCloudInit } from '../build-inputs';
import { planAutoscaling, type AutoscalingFlags } from '../inputs/autoscaling';
import { readEnrollment, type EnrollmentFlags } from '../inputs/enrollment';
import { readJoinMaterial, type JoinFlags } from '../inputs/join';
import { readControlPlaneSettings, type ControlPlaneFlags } from '../inputs/control-plane';
import type { PxeFlags } from '../inputs/pxe';
import { readUserScripts } from '../inputs/user-scripts';
import { writeDirectoryAtomically, writeFileAtomically } from '../output';
import { bakedAmi, packerManifestPath } from '../packer-manifest';
import { PACKER_TEMPLATE_DIR } from '../package-files';

export interface BuildOptions {
  profile: string;
  profilesDir: string;
  mirror?: MirrorPresetName;
  /** The build goes to OUT/PROFILE/ (and OUT/PROFILE.tar.gz). */
  out: string;
  tar: boolean;
  packer: boolean;
  packerOnly?: string[];
  agentUrl?: string;
  pxe: PxeFlags;
  userScripts?: string[];
  join: JoinFlags;
  enrollment: EnrollmentFlags;
  controlPlane?: ControlPlaneFlags;
  /** --autoscaling and its flags: also write autoscaling/, a scaling group's files for the pool's workers. */
  autoscaling?: AutoscalingFlags;
}

export async function buildProfile(options: BuildOptions): Promise<void> {
  const profile = loadProfile(options.profile, { dir: options.profilesDir, mirror: options.mirror });
  const outDir = path.join(options.out, profile.name);
  if (options.packerOnly && !options.packer) throw new UserError('--packer-only goes with --packer');
  // Packer's runner (child_process and the key pair of a bake) is imported only for --packer.
  const packerRun = options.packer ? await import('../packer-run') : undefined;
  const packer = packerRun?.checkPackerReady(profile, options.packerOnly);
  const inputs = buildInputs(profile, {
    join: readJoinMaterial(options.join),
    enrollment: readEnrollment(options.enrollment),
    controlPlane: readControlPlaneSettings(options.controlPlane ?? {}),
    agentUrl: options.agentUrl,
    pxe: options.pxe,
    autoscaling: options.autoscaling?.autoscaling,
  });
  if (options.userScripts?.length) requireCloudInit(inputs);
  const renderInputs = { ...inputs, userScripts: readUserScripts(options.userScripts) };
  // A plain build whose folder holds what these inputs rendered last time is up to date without rendering. Not
  // with --tar, --packer or --autoscaling, whose work goes beyond the folder.
  const plain = !options.tar && !options.packer && options.autoscaling?.autoscaling === undefined;
  const kept = plain ? keptBuildFor(renderInputs) : undefined;
  const held = kept?.heldBy(outDir);
  if (held) {
    printBuildSummary(outDir, 'unchanged', held, buildNotes(inputs, held, false));
    printUserDataWarnings(held);
    return;
  }
  const files = renderBuild(renderInputs);
  const bakesAmi = packer !== undefined && packer.image.amazon !== undefined && (packer.only === undefined || packer.only.includes('amazon'));
  const autoscaling = planAutoscaling(options.autoscaling ?? {}, renderInputs, files, { packer: options.packer, amazon: bakesAmi });
  // With the image named, the scaling files go into the build folder in the same atomic write; a bake's AMI is
  // known only once Packer is done, so then they follow it.
  const scaling = autoscaling?.imageId !== undefined ? autoscaling.render(autoscaling.imageId) : [];
  // Rendered before anything is written, so a failure leaves the previous build and archive alone. The archive
  // code (tar-stream and its streams) is imported only for --tar: a plain build would parse it for nothing.
  const tar = options.tar ? await import('../../builder/archive') : undefined;
  const archive = tar ? await tar.renderTarGz(profile.name, files) : undefined;
  const outcome = await writeDirectoryAtomically(outDir, [...files, ...scaling]);
  kept?.keep(files);
  const manifest = JSON.parse(files.find((f) => f.name === 'manifest.json')!.content.toString('utf8')) as Manifest;
  printBuildSummary(outDir, outcome, manifest, buildNotes(inputs, manifest, options.packer));
  printScalingFiles(scaling);
  printUserDataWarnings(manifest);
  if (tar && archive) {
    const archivePath = path.join(options.out, `${profile.name}.tar.gz`);
    writeFileAtomically(archivePath, archive, tar.archiveMode(files));
    process.stdout.write(`wrote ${archivePath}  ${archive.length} B  sha256 ${sha256Hex(archive)}\n`);
  }
  if (packerRun && packer) packerRun.runPacker({ ...packer, profileName: profile.name, buildDir: path.resolve(outDir), templateDir: PACKER_TEMPLATE_DIR });
  if (autoscaling && autoscaling.imageId === undefined) {
    const { region, imageId } = bakedAmi(packerManifestPath(path.resolve(outDir)));
    const baked = autoscaling.render(imageId);
    await writeDirectoryAtomically(path.join(outDir, 'autoscaling'), baked.map((file) => ({ ...file, name: path.posix.relative('autoscaling', file.name) })));
    process.stdout.write(`the bake made ${imageId} in ${region}: create the launch template and the group in ${region}\n`);
    printScalingFiles(baked);
  }
}

function printUserDataWarnings(manifest: Manifest): void {
  const warnings = userDataWarnings(manifest);
  if (warnings.length > 0) process.stderr.write(warnings.map((warning) => `warning: ${warning}\n`).join(''));
}

/** The scaling files, which manifest.json does not list: they name a cloud image, not what a node runs. */
function printScalingFiles(files: readonly { name: string; content: Buffer; mode: number }[]): void {
  for (const file of files) process.stdout.write(`  ${file.name}  ${file.content.length} B  mode ${file.mode.toString(8).padStart(4, '0')}\n`);
}

/** The summary in one write: a pipe takes each write as a system call of its own. */
function printBuildSummary(outDir: string, outcome: 'written' | 'unchanged', manifest: Manifest, notes: readonly string[]): void {
  const lines = [outcome === 'written' ? `wrote ${outDir}` : `${outDir} is up to date: it held these files already`];
  const width = Math.max(...manifest.files.map((file) => file.name.length));
  for (const file of manifest.files) {
    let limits = '';
    if (isUserData(file.name) && file.userDataLimits) {
      const fits = Object.entries(file.userDataLimits).map(([cloud, { fits }]) => `${cloud} ${fits ? 'fits' : 'too big'}`);
      limits = `  (${fits.join(', ')})`;
    }
    lines.push(`  ${file.name.padEnd(width)} ${String(file.size).padStart(9)} B  ${file.sha256.slice(0, 12)}${limits}`);
  }
  process.stdout.write(`${[...lines, ...notes].join('\n')}\n`);
}

/** What the user may want to do next with this build, one line each. */
function buildNotes(inputs: BuildInputs, manifest: Manifest, baking: boolean): string[] {
  const notes: string[] = [];
  const tooBigForEc2 = manifest.files.some((f) => f.userDataLimits && !f.userDataLimits.ec2.fits);
  // Stubs leave the agent out and fetch it by sha256. Ignition trusts only the system's CAs, so only a URL the
  // user hosts serves its stub; cloud-init's can also fetch from the join endpoint the nodes enroll with.
  const missingStubs = [
    ...(bootsWithCloudInit(inputs.agentConfig) && !inputs.agentSource ? ['user-data-ROLE-stub.yaml'] : []),
    ...(!ignitionStubSource(inputs.agentSource) ? ['ignition-ROLE-stub.json'] : []),
  ];
  if (tooBigForEc2 && missingStubs.length > 0) {
    notes.push(`EC2 and Alibaba Cloud take 16 KB of user-data: add --agent-url URL (where you serve agent.js) for ${missingStubs.join(' and ')}, which fetch the agent and check its sha256`);
  }
  const enrollment = inputs.enrollment;
  if (enrollment && enrollment.tokens['control-plane'] === undefined) {
    const why = enrollment.identity ? `workers enroll by their ${enrollment.identity} identity document, which enrolls no control plane` : 'the worker token enrolls workers only';
    notes.push(
      `pool ${enrollment.pool}: only workers' configs were written, since ${why}; for a control plane's, add --control-plane-token-file FILE with a token from \`labimg pool token-create ${enrollment.pool} --role control-plane\``,
    );
  }
  if (inputs.packer && !baking) notes.push(`bake an image with Packer: labimg build ${inputs.profileName} --packer`);
  const pxe = inputs.pxe;
  if (pxe?.base === undefined && pxe) notes.push("pxe/ holds each role's installer config; add --pxe-url URL (where you serve pxe/) for the boot.ipxe that installs from it");
  if (pxe) notes.push(pxeAssetsNote(inputs.profileName, pxe.image.netInstall, pxe.base ?? 'PXE-URL'));
  return notes;
}

/**
 * What the operator copies where for boot.ipxe: iPXE fetches the installer's kernel and initrd over plain HTTP
 * from the PXE base's assets/ (builder/render/pxe/layout.ts), so they must be put there first.
 */
function pxeAssetsNote(profileName: string, netInstall: NonNullable<BuildInputs['pxe']>['image']['netInstall'], base: string): string {
  const { kernel, initrd } = pxeBootAssets(profileName, netInstall);
  const folder = (asset: { path: string }) => asset.path.slice(0, asset.path.lastIndexOf('/') + 1);
  if (kernel.inIso !== undefined && initrd.inIso !== undefined) {
    return `PXE: serve ${kernel.inIso} and ${initrd.inIso}, copied out of ${kernel.from}, at ${base}/assets/${folder(kernel)}`;
  }
  // debian-installer's netboot images: the mirror lists their sha256 in SHA256SUMS under images/ (for bookworm,
  // dists/bookworm/main/installer-amd64/current/images/SHA256SUMS, read 2026-12-06), keyed by their path there.
  const images = (asset: { from: string }) => asset.from.slice(0, asset.from.indexOf('/images/') + '/images/'.length);
  if (/\/installer-[a-z0-9]+\/[^/]+\/images\//.test(kernel.from) && images(kernel) === images(initrd)) {
    return `PXE: serve copies of ${kernel.from} and ${initrd.from}, checked against the sha256 ${images(kernel)}SHA256SUMS lists, at ${base}/assets/${folder(kernel)}`;
  }
  // A RHEL tree's .treeinfo lists the sha256 of its boot images under [checksums], keyed by their path in the
  // tree ("images/pxeboot/vmlinuz = sha256:HEX"): the format of productmd's treeinfo.py (class Checksums,
  // github.com/release-engineering/productmd at 2a28dec18c, 2026-06-10), seen in the Fedora 18 and 19 and
  // RHEL 8 trees of its tests/treeinfo/. Checked 2026-12-05.
  const tree = netInstall.repo?.replace(/\/*$/, '/');
  if (tree !== undefined && kernel.from.startsWith(tree) && initrd.from.startsWith(tree) && folder(kernel) === folder(initrd)) {
    const inTree = (asset: { from: string }) => asset.from.slice(tree.length);
    return `PXE: serve ${inTree(kernel)} and ${inTree(initrd)}, downloaded from ${tree} and checked against the sha256 its .treeinfo lists under [checksums], at ${base}/assets/${folder(kernel)}`;
  }
  return `PXE: serve a copy of ${kernel.from} at ${base}/assets/${kernel.path}, and of ${initrd.from} at ${base}/assets/${initrd.path}`;
}

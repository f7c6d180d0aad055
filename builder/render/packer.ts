/**
 * The Packer delivery path: the variables file that points the template in packer/ at one profile's build,
 * and the commands that bake an image from it.
 *
 * The template itself is static HCL in packer/ (one for every profile); a profile contributes only values,
 * so `labimg build` never generates HCL blocks, only `name = value` lines.
 */
import path from 'node:path';
import { INSTANCE_PATHS } from '../../contract/node-paths';
import type { ImageSources } from '../profiles/types';
import type { NodeFile } from './node-files';
import { textFile, type RenderedFile } from './types';

/** The template's sources as `packer build -only=` names them, by the part of ImageSources each starts from. */
export const PACKER_SOURCES = { cloud: 'qemu.cloud', amazon: 'amazon-ebs.ami' } as const;
export type PackerSourceKind = keyof typeof PACKER_SOURCES;

/** Holds the `packer { required_plugins }` block, inside the template folder; Packer 1.6.6 must never read it. */
export const PACKER_INIT_DIR = 'init';

/** An image file as the build folder holds it for the bake to upload: named after its path on the node. */
export function buildFolderName(file: NodeFile): string {
  return path.posix.basename(file.path);
}

/** Packer reads *.pkrvars.hcl as HCL variable values, in 1.6.6 as now. */
export function packerVarsFileName(profileName: string): string {
  return `${profileName}.pkrvars.hcl`;
}

/** The source kind a `packer build -only=` name stands for. */
export function packerSourceKind(name: string): PackerSourceKind | undefined {
  return (Object.keys(PACKER_SOURCES) as PackerSourceKind[]).find((kind) => PACKER_SOURCES[kind] === name);
}

/** The sources a profile's image block lets Packer start from, in the order they are offered. */
export function packerSourcesOf(image: ImageSources): PackerSourceKind[] {
  const kinds: PackerSourceKind[] = [];
  if (image.cloud) kinds.push('cloud');
  if (image.amazon) kinds.push('amazon');
  return kinds;
}

export interface PackerVarsInputs {
  profileName: string;
  image: ImageSources;
}

/**
 * What the bake installs and what it removes, as the template's image_files and instance_paths hand them to
 * packer/scripts: each image file as "NAME:MODE:PATH" (its name in the build folder, its octal mode and its
 * path on the node), and every path that belongs to one instance (contract/node-paths.ts).
 */
export interface BakeLists {
  imageFiles: string[];
  instancePaths: string[];
}

export function bakeLists(imageFiles: readonly NodeFile[]): BakeLists {
  return {
    imageFiles: imageFiles.map((file) => `${buildFolderName(file)}:0${file.mode.toString(8)}:${file.path}`),
    instancePaths: Object.values(INSTANCE_PATHS),
  };
}

type HclValue = string | string[];

/**
 * PROFILE.pkrvars.hcl, for the profile's build folder; nothing when the profile names neither a cloud image
 * nor an AMI. Values of sources the profile lacks are left out: the template's empty defaults make Packer
 * refuse to build those sources, and packerInvocations() never runs them.
 *
 * Packer runs in the build folder (packerInvocations says so), and the paths here are relative to it: the
 * file names no place on the machine that wrote it, so the same profile gives the same bytes wherever it is
 * built, and a build folder carried elsewhere (a tarball) still works. The image is written beside the build
 * folder, not into it: `labimg build` replaces the build folder whole.
 */
export function renderPackerVars(inputs: PackerVarsInputs, bake: BakeLists): RenderedFile[] {
  const { profileName, image } = inputs;
  const sources = packerSourcesOf(image);
  if (sources.length === 0) return [];

  const values: Array<[string, HclValue]> = [
    ['profile', profileName],
    ['build_dir', '.'],
    ['image_name', `labimg-${profileName}`],
    ['ssh_username', image.sshUsername],
    ['image_files', bake.imageFiles],
    ['instance_paths', bake.instancePaths],
  ];
  if (image.cloud) {
    values.push(
      ['cloud_image_url', image.cloud.url],
      ['cloud_image_checksum', image.cloud.checksum],
      ['qemu_output_dir', `../${profileName}.qemu`],
    );
  }
  if (image.amazon) {
    values.push(['ami_name_filter', image.amazon.amiName], ['ami_owners', image.amazon.owners]);
  }

  const header = [
    `# Packer variables for labimg profile ${profileName}, written by \`labimg build\`. Sources: ${sources.map((kind) => PACKER_SOURCES[kind]).join(', ')}.`,
    '# Run Packer in this folder: paths are relative to it. Nothing here is secret, and nothing secret goes into the image.',
  ];
  return [textFile(packerVarsFileName(profileName), `${header.join('\n')}\n\n${hclAttributes(values)}`)];
}

/** `name = value` lines with the `=` aligned, as `packer fmt` leaves them. */
function hclAttributes(values: Array<[string, HclValue]>): string {
  const width = Math.max(...values.map(([name]) => name.length));
  return values.map(([name, value]) => `${name.padEnd(width)} = ${hclValue(value)}\n`).join('');
}

function hclValue(value: HclValue): string {
  return Array.isArray(value) ? `[${value.map(hclString).join(', ')}]` : hclString(value);
}

/**
 * An HCL quoted string holding exactly `text`: `${` and `%{` would otherwise start a template. The last two
 * replacements are functions because in a replacement string "$$" stands for one "$".
 */
function hclString(text: string): string {
  const escaped = text
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')
    .replace(/\t/g, '\\t')
    .replace(/\$\{/g, () => '$${')
    .replace(/%\{/g, () => '%%{');
  return `"${escaped}"`;
}

export interface PackerInvocationInputs {
  /** What `packer version` printed (e.g. "Packer v1.6.6"). */
  packerVersion: string;
  profileName: string;
  image: ImageSources;
  /** The template folder, packer/. */
  templateDir: string;
  /** The qemu bake's seed folder (renderPackerSeed), passed as the template's seed_dir. */
  seedDir: string;
  /** The sources to bake; every one the profile names when absent. */
  only?: readonly PackerSourceKind[];
}

/**
 * The packer commands, as argv, each to run in the build folder (the vars file's paths are relative to it):
 * `packer init` where Packer has plugins to install (1.7 and later; 1.6.6 has no such command and needs
 * none), then one `packer build` per source the profile names. An AMI bake needs AWS credentials and a qemu
 * bake a seed, so each source is a build of its own.
 */
export function packerInvocations(inputs: PackerInvocationInputs): string[][] {
  const installed = parsePackerVersion(inputs.packerVersion);
  const invocations: string[][] = [];
  // A version it cannot read is taken for a current one.
  if (!installed || installed.major > 1 || installed.minor >= 7) {
    invocations.push(['packer', 'init', path.join(inputs.templateDir, PACKER_INIT_DIR)]);
  }
  for (const kind of packerSourcesOf(inputs.image).filter((source) => !inputs.only || inputs.only.includes(source))) {
    const seed = kind === 'cloud' ? [`-var=seed_dir=${inputs.seedDir}`] : [];
    invocations.push(['packer', 'build', `-only=${PACKER_SOURCES[kind]}`, `-var-file=${packerVarsFileName(inputs.profileName)}`, ...seed, inputs.templateDir]);
  }
  return invocations;
}

export interface PackerVersion {
  major: number;
  minor: number;
  patch: number;
}

/** The version in `packer version` or `packer --version` output ("Packer v1.6.6", "1.11.2"). */
export function parsePackerVersion(output: string): PackerVersion | undefined {
  const match = /(\d+)\.(\d+)\.(\d+)/.exec(output);
  if (!match) return undefined;
  return { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3]) };
}

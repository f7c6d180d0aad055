/**
 * The AMI a `labimg build --packer` bake made, from Packer's manifest post-processor (packer/build.pkr.hcl writes
 * it to OUT/PROFILE.packer-manifest.json). Its format (https://developer.hashicorp.com/packer/docs/post-processors/manifest,
 * read 2026-12-06): {"builds": [{"name", "builder_type", "artifact_id", "packer_run_uuid", ...}], "last_run_uuid"};
 * later runs are added to the same file, so only the builds of the last run count. An amazon-ebs build's
 * artifact_id is "REGION:AMI-ID", one pair per region the AMI was copied to, joined by commas.
 */
import { existsSync, readFileSync } from 'node:fs';
import { UserError } from '../contract/errors';

interface PackerManifest {
  builds?: Array<{ builder_type?: string; artifact_id?: string; packer_run_uuid?: string }>;
  last_run_uuid?: string;
}

export function packerManifestPath(outDir: string): string {
  return `${outDir}.packer-manifest.json`;
}

/** The region and AMI id of the last run's amazon-ebs build, or a UserError that says what is missing. */
export function bakedAmi(manifestFile: string): { region: string; imageId: string } {
  if (!existsSync(manifestFile)) throw new UserError(`Packer wrote no manifest at ${manifestFile}: the scaling files were not written; give --image-id ami-...`);
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as PackerManifest;
  const build = (manifest.builds ?? []).filter((b) => b.builder_type === 'amazon-ebs' && b.packer_run_uuid === manifest.last_run_uuid).at(-1);
  const first = build?.artifact_id?.split(',')[0];
  const match = first === undefined ? null : /^([a-z0-9-]+):(ami-[0-9a-f]+)$/.exec(first);
  if (!match) throw new UserError(`${manifestFile} names no AMI of the last bake: the scaling files were not written; give --image-id ami-...`);
  return { region: match[1] as string, imageId: match[2] as string };
}

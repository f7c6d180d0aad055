/**
 * One tiny image in containerd, for the kubeadm stand-in to tag under every name kubeadm would pull: no
 * registry is reachable from the test VM. An OCI image layout (one empty layer) packed with tar-stream and
 * imported with `ctr images import`, once.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';

export const BASE_IMAGE = 'labimg.invalid/e2e/empty:1';

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

function blob(data: Buffer, mediaType: string): { data: Buffer; descriptor: { mediaType: string; digest: string; size: number } } {
  return { data, descriptor: { mediaType, digest: `sha256:${sha256(data)}`, size: data.length } };
}

async function tarOf(entries: Array<{ name: string; data: Buffer }>): Promise<Buffer> {
  const archive = pack();
  const chunks: Buffer[] = [];
  archive.on('data', (chunk) => chunks.push(chunk as Buffer));
  const done = new Promise<void>((resolve, reject) => archive.on('end', resolve).on('error', reject));
  for (const entry of entries) archive.entry({ name: entry.name, size: entry.data.length, mode: 0o644, mtime: new Date(0) }, entry.data);
  archive.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** The base image's name, imported into the k8s.io namespace first when it is not there yet. */
export async function importedImage(): Promise<string> {
  const listed = execFileSync('ctr', ['--namespace', 'k8s.io', 'images', 'list', '--quiet'], { encoding: 'utf8' });
  if (listed.split('\n').includes(BASE_IMAGE)) return BASE_IMAGE;
  const layerTar = await tarOf([]);
  const layer = blob(gzipSync(layerTar), 'application/vnd.oci.image.layer.v1.tar+gzip');
  const config = blob(
    Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [`sha256:${sha256(layerTar)}`] } })),
    'application/vnd.oci.image.config.v1+json',
  );
  const manifest = blob(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: config.descriptor, layers: [layer.descriptor] })), 'application/vnd.oci.image.manifest.v1+json');
  const index = { schemaVersion: 2, manifests: [{ ...manifest.descriptor, annotations: { 'io.containerd.image.name': BASE_IMAGE, 'org.opencontainers.image.ref.name': '1' } }] };
  const archive = await tarOf([
    { name: 'oci-layout', data: Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })) },
    { name: 'index.json', data: Buffer.from(JSON.stringify(index)) },
    ...[layer, config, manifest].map((b) => ({ name: `blobs/sha256/${b.descriptor.digest.slice('sha256:'.length)}`, data: b.data })),
  ]);
  const file = '/var/lib/labimg-e2e/empty-image.tar';
  writeFileSync(file, archive);
  execFileSync('ctr', ['--namespace', 'k8s.io', 'images', 'import', file], { stdio: 'ignore' });
  return BASE_IMAGE;
}

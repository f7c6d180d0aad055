/**
 * A build as one .tar.gz, to carry to a PXE server or an air-gapped site.
 *
 * Byte-identical for the same files: entries sorted by path, every time stamp the same fixed instant, owner
 * root:root by number and name, and gzip's own header time left at zero. Anyone can check a copy against
 * another by its sha256.
 */
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import type { RenderedFile } from './render/types';

/** The time stamp of every entry: 2000-01-01T00:00:00Z, not the epoch, which some tools read as "no time". */
const FIXED_MTIME = new Date(Date.UTC(2000, 0, 1));

const byPath = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Every directory the files need, parents first: tar readers create missing ones with arbitrary modes otherwise. */
function directoriesOf(top: string, files: RenderedFile[]): string[] {
  const dirs = new Set<string>([top]);
  for (const file of files) {
    const parts = file.name.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i += 1) dirs.add(`${top}/${parts.slice(0, i).join('/')}`);
  }
  return [...dirs].sort(byPath);
}

/** `files` under the directory `top` in a gzipped tarball. */
export async function renderTarGz(top: string, files: RenderedFile[]): Promise<Buffer> {
  const archive = pack();
  const chunks: Buffer[] = [];
  archive.on('data', (chunk) => chunks.push(chunk as Buffer));
  const finished = new Promise<void>((resolve, reject) => {
    archive.on('end', resolve);
    archive.on('error', reject);
  });
  const owner = { uid: 0, gid: 0, uname: 'root', gname: 'root', mtime: FIXED_MTIME };
  // One order for directories and files alike: a directory sorts just before its contents.
  const entries = [
    ...directoriesOf(top, files).map((dir) => ({ name: `${dir}/` })),
    ...files.map((file) => ({ name: `${top}/${file.name}`, file })),
  ].sort((a, b) => byPath(a.name, b.name));
  for (const { name, file } of entries as Array<{ name: string; file?: RenderedFile }>) {
    if (file) archive.entry({ name, type: 'file', mode: file.mode, size: file.content.length, ...owner }, file.content);
    else archive.entry({ name, type: 'directory', mode: 0o755, ...owner });
  }
  archive.finalize();
  await finished;
  // gzipSync leaves the header's time at 0 and names no file, so the same tar gives the same bytes.
  return gzipSync(Buffer.concat(chunks), { level: 9 });
}

/** The archive is as secret as the most secret file in it (user-data with a token is 0600). */
export function archiveMode(files: RenderedFile[]): number {
  return files.some((file) => (file.mode & 0o077) === 0) ? 0o600 : 0o644;
}

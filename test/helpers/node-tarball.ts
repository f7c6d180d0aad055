import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from './cli';

/**
 * A Node.js tarball laid out like the real ones (one top directory, bin/node inside) whose "node" is a
 * script printing a version, with its path, file:// URL and sha256.
 */
export function fakeNodeTarball(): { file: string; url: string; sha256: string } {
  const work = tempDir('labimg-node-');
  const bin = path.join(work, 'package', 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(path.join(bin, 'node'), '#!/bin/sh\necho v16.20.2\n');
  chmodSync(path.join(bin, 'node'), 0o755);
  const file = path.join(work, 'node.tgz');
  const tar = spawnSync('tar', ['-czf', file, '-C', work, 'package']);
  if (tar.status !== 0) throw new Error(tar.stderr.toString());
  return { file, url: `file://${file}`, sha256: createHash('sha256').update(readFileSync(file)).digest('hex') };
}

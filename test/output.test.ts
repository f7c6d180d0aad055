import test from 'ava';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeDirectoryAtomically } from '../cli/output';
import { textFile } from '../builder/render/types';
import { tempDir } from './helpers/cli';

test('replaces the directory with exactly the new files', async (t) => {
  const parent = tempDir();
  const dir = path.join(parent, 'build');
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'stale'), 'from an older build');
  await writeDirectoryAtomically(dir, [textFile('a.txt', 'A'), textFile('sub/b.sh', 'B', 0o755)]);
  t.deepEqual(readdirSync(dir).sort(), ['a.txt', 'sub']);
  t.is(readFileSync(path.join(dir, 'sub/b.sh'), 'utf8'), 'B');
  t.deepEqual(readdirSync(parent), ['build']);
});

test('a write that fails half-way leaves the old directory intact and no temp directory', async (t) => {
  const parent = tempDir();
  const dir = path.join(parent, 'build');
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'old'), 'old');
  // "x" is written as a file, then "x/y" needs it to be a directory: ENOTDIR, even for root.
  const error = await t.throwsAsync(() => writeDirectoryAtomically(dir, [textFile('first', '1'), textFile('x', 'file'), textFile('x/y', 'nested')]));
  t.regex(error!.message, /ENOTDIR|EEXIST/);
  t.deepEqual(readdirSync(dir), ['old']);
  t.deepEqual(readdirSync(parent), ['build']);
});

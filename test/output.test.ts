import test from 'ava';
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeDirectoryAtomically } from '../cli/output';
import { textFile } from '../builder/render/types';
import { filesIn, tempDir } from './helpers/cli';

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

test('a folder that holds exactly the files already is left as it was', async (t) => {
  const parent = tempDir();
  const dir = path.join(parent, 'build');
  const files = [textFile('a.txt', 'A'), textFile('sub/b.sh', 'B', 0o755)];
  t.is(await writeDirectoryAtomically(dir, files), 'written');
  const before = ['a.txt', 'sub/b.sh'].map((name) => statSync(path.join(dir, name), { bigint: true }));
  t.is(await writeDirectoryAtomically(dir, files), 'unchanged');
  const after = ['a.txt', 'sub/b.sh'].map((name) => statSync(path.join(dir, name), { bigint: true }));
  t.deepEqual(after.map((stat) => [stat.ino, stat.mtimeNs]), before.map((stat) => [stat.ino, stat.mtimeNs]));
  t.deepEqual(readdirSync(parent), ['build']);
});

test('any difference in names, bytes, modes or kinds of file is a write', async (t) => {
  const files = [textFile('a.txt', 'A'), textFile('sub/b.sh', 'B', 0o755)];
  const differences: Array<[string, (dir: string) => void]> = [
    ['a byte', (dir) => writeFileSync(path.join(dir, 'a.txt'), 'a')],
    ['a mode', (dir) => chmodSync(path.join(dir, 'sub/b.sh'), 0o744)],
    ['a file more', (dir) => writeFileSync(path.join(dir, 'sub/c'), 'C')],
    ['an empty folder more', (dir) => mkdirSync(path.join(dir, 'empty'))],
    ['a file less', (dir) => rmSync(path.join(dir, 'a.txt'))],
    ['a link to the same bytes', (dir) => {
      renameSync(path.join(dir, 'a.txt'), path.join(dir, '..', 'elsewhere.txt'));
      symlinkSync(path.join(dir, '..', 'elsewhere.txt'), path.join(dir, 'a.txt'));
    }],
  ];
  for (const [what, change] of differences) {
    const parent = tempDir();
    const dir = path.join(parent, 'build');
    await writeDirectoryAtomically(dir, files);
    change(dir);
    t.is(await writeDirectoryAtomically(dir, files), 'written', what);
    t.deepEqual(filesIn(dir), ['a.txt', 'sub/b.sh'], what);
    t.true(lstatSync(path.join(dir, 'a.txt')).isFile(), what);
    t.is(readFileSync(path.join(dir, 'a.txt'), 'utf8'), 'A', what);
    t.is(statSync(path.join(dir, 'sub/b.sh')).mode & 0o777, 0o755, what);
  }
  // The folder itself a link to one that holds the files: replaced by a folder of its own.
  const parent = tempDir();
  const real = path.join(parent, 'real');
  await writeDirectoryAtomically(real, files);
  symlinkSync(real, path.join(parent, 'build'));
  t.is(await writeDirectoryAtomically(path.join(parent, 'build'), files), 'written');
  t.false(lstatSync(path.join(parent, 'build')).isSymbolicLink());
});

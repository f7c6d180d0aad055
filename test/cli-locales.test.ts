/**
 * yargs's messages never come from the working directory: its bundled shim once looked for LOCALE.json three
 * folders above wherever labimg ran (scripts/build.mjs, yargsLocalesOfItsOwn), so a web project's
 * locales/en_US.json failed every command, or replaced yargs's messages.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cliPath, tempDir } from './helpers/cli';

/** A working directory three folders below one that holds `locales/NAME` with `content`. */
function belowLocales(files: Record<string, string>): string {
  const root = tempDir();
  mkdirSync(path.join(root, 'locales'));
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(root, 'locales', name), content);
  const cwd = path.join(root, 'a', 'b', 'c');
  mkdirSync(cwd, { recursive: true });
  return cwd;
}

function run(cwd: string, lang: string, args: string[]) {
  return spawnSync(process.execPath, [cliPath, ...args], { cwd, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', LANG: lang } });
}

test('a malformed locales/LANG.json three folders up does not stop a command', (t) => {
  const cwd = belowLocales({ 'en_US.json': '{ not json', 'zh_CN.json': '{ not json', 'en.json': '{' });
  for (const lang of ['en_US.UTF-8', 'zh_CN.UTF-8']) {
    const build = run(cwd, lang, ['build', 'ubuntu', '--out', path.join(cwd, 'out')]);
    t.is(build.status, 0, `${lang}: ${build.stderr}`);
    t.regex(build.stdout, /\/out\/ubuntu( is up to date)?/, lang);
    const help = run(cwd, lang, ['build', '--help']);
    t.is(help.status, 0, `${lang}: ${help.stderr}`);
  }
});

test("yargs's messages stay its own English, whatever locales/LANG.json three folders up says", (t) => {
  const table = JSON.stringify({
    'Positionals:': 'Replaced:',
    'Not enough non-option arguments: got %s, need at least %s': { one: 'REPLACED %s', other: 'REPLACED %s' },
  });
  const cwd = belowLocales({ 'en_US.json': table, 'zh_CN.json': table });
  for (const lang of ['en_US.UTF-8', 'zh_CN.UTF-8']) {
    const missing = run(cwd, lang, ['build']);
    t.is(missing.status, 2);
    t.is(missing.stderr.split('\n')[0], 'labimg: Not enough non-option arguments: got 0, need at least 1', lang);
    const help = run(cwd, lang, ['build', '--help']);
    t.regex(help.stdout, /^Positionals:$/m, lang);
    t.notRegex(help.stdout, /Replaced/, lang);
  }
});

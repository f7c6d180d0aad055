/**
 * `labimg --help` and every command's help wrap at the terminal's width (here $COLUMNS, as stdout is a pipe), and
 * only between words: every word of a wrapped help is a word of the same help unwrapped (YARGS_DISABLE_WRAP), so a
 * word cut in two ("every d" / "ownload") would leave pieces that are no words of it.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { cliPath } from './helpers/cli';

function help(args: string[], env: Record<string, string>): string {
  const result = spawnSync(process.execPath, [cliPath, ...args, '--help'], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ...env } });
  if (result.status !== 0) throw new Error(`labimg ${args.join(' ')} --help exited ${result.status}: ${result.stderr}`);
  return result.stdout;
}

/** The commands `labimg --help` lists, and the subcommands each of them lists. */
function commands(): string[][] {
  const listed = (text: string, prefix: string[]) =>
    [...text.matchAll(/^ {2}labimg ((?:[a-z-]+ ?)+?)(?: [<[]|\s{2,}|$)/gm)].map((m) => (m[1] as string).trim().split(' ')).filter((c) => c.length > prefix.length);
  const top = listed(help([], { YARGS_DISABLE_WRAP: '1' }), []);
  return [[], ...top, ...top.flatMap((c) => listed(help(c, { YARGS_DISABLE_WRAP: '1' }), c))];
}

test('every help text wraps at the terminal width, between words', (t) => {
  const all = commands();
  t.true(all.length > 15, all.map((c) => c.join(' ')).join(', '));
  for (const command of all) {
    const words = new Set(help(command, { YARGS_DISABLE_WRAP: '1' }).split(/\s+/));
    for (const columns of [60, 80, 132]) {
      const text = help(command, { COLUMNS: String(columns) });
      const long = text.split('\n').filter((line) => [...line].length > columns);
      t.deepEqual(long, [], `labimg ${command.join(' ')} --help at ${columns} columns`);
      // cliui puts an option's type hint on the description's last line when it fits, and where it fits exactly it
      // leaves no space between ("know[number]": cliui 8.0.1 build/index.cjs renderInline, `leadingWhitespace <
      // targetTextWidth`, read 2026-12-06). A word with its hint glued on is no cut word.
      const glued = (w: string) => /^(.+)(\[[a-z]+\])$/.exec(w);
      const pieces = text.split(/\s+/).filter((w) => !words.has(w) && !(glued(w) && words.has(glued(w)?.[1] ?? '') && words.has(glued(w)?.[2] ?? '')));
      t.deepEqual(pieces, [], `labimg ${command.join(' ')} --help at ${columns} columns cut a word`);
    }
  }
});

test('at 80 columns the mirrors line wraps before "download", not inside it', (t) => {
  const text = help([], { COLUMNS: '80' });
  t.regex(text, /takes every\n\s+download from/);
});

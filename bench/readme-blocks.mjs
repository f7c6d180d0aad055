// The README's generated blocks: `<!-- NAME: ... -->` ... `<!-- /NAME -->`, each replaced whole by what the bench
// printed, so the README's tables are the bench's output and nothing else.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const blockPattern = (name) => new RegExp(`(<!-- ${name}:[^>]*-->\\n)[\\s\\S]*?(<!-- /${name} -->)`);

/** The body of block NAME in `readme`; undefined when the README has no such block. */
export function readmeBlock(readme, name) {
  return blockPattern(name).exec(readme)?.[0].replace(/^<!--[^>]*-->\n/, '').replace(/<!-- \/[a-z-]+ -->$/, '');
}

/** Replaces each named block of root/README.md with its new body; fails on a block the README lacks. */
export function writeReadmeBlocks(root, bodies) {
  const file = path.join(root, 'README.md');
  let readme = readFileSync(file, 'utf8');
  for (const [name, body] of Object.entries(bodies)) {
    if (!blockPattern(name).test(readme)) throw new Error(`README.md has no <!-- ${name}: --> block`);
    readme = readme.replace(blockPattern(name), (_, open, close) => `${open}${body}${close}`);
  }
  writeFileSync(file, readme);
}

/** `labimg build --user-script FILE`: the user's own shell scripts, carried beside labimg's cloud-config. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../../contract/errors';
import type { UserScript } from '../../builder/build';

/** Each script as it will travel: its file name (for the MIME part) and text, which must name its interpreter. */
export function readUserScripts(files: readonly string[] | undefined): UserScript[] {
  const scripts = (files ?? []).map((file) => {
    let content: string;
    try {
      content = readFileSync(file, 'utf8');
    } catch (error) {
      throw new UserError(`--user-script: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    if (!content.startsWith('#!')) throw new UserError(`--user-script: ${file} must start with "#!" and its interpreter (#!/bin/sh), which cloud-init runs it with`);
    const filename = path.basename(file);
    if (!/^[A-Za-z0-9._-]+$/.test(filename)) throw new UserError(`--user-script: name the file with letters, digits, ".", "_" and "-" only: ${filename}`);
    return { filename, content };
  });
  const names = scripts.map((script) => script.filename);
  const repeated = names.find((name, index) => names.indexOf(name) !== index);
  if (repeated !== undefined) throw new UserError(`--user-script: two scripts are named ${repeated}; cloud-init would keep one`);
  return scripts;
}

/** `labimg profiles`: the profiles a user can build (abstract ones, which only others extend, are left out). */
import type { Argv } from 'yargs';
import { listProfiles } from '../../builder/profiles';
import type { GlobalOptions } from '../options';

export function listBuildableProfiles(profilesDir: string): void {
  const rows = listProfiles(profilesDir).filter((p) => !p.abstract);
  const width = Math.max(...rows.map((p) => p.name.length));
  for (const p of rows) process.stdout.write(`${p.name.padEnd(width)}  ${p.description}\n`);
}

export function addProfilesCommand(y: Argv<GlobalOptions>): Argv<GlobalOptions> {
  return y.command('profiles', 'list the profiles you can build', (c) => c, (argv) => listBuildableProfiles(argv.profiles));
}

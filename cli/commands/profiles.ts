/** `labimg profiles`: the profiles a user can build (abstract ones, which only others extend, are left out). */
import { listProfiles } from '../../builder/profiles';

export function listBuildableProfiles(profilesDir: string): void {
  const rows = listProfiles(profilesDir).filter((p) => !p.abstract);
  const width = Math.max(...rows.map((p) => p.name.length));
  for (const p of rows) process.stdout.write(`${p.name.padEnd(width)}  ${p.description}\n`);
}

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const repoRoot = path.resolve(__dirname, '..', '..');
export const cliPath = path.join(repoRoot, 'dist', 'labimg.js');
export const agentPath = path.join(repoRoot, 'dist', 'agent.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI as a user would: a real process, its exit code and both streams. */
export function labimg(args: string[], options: { cwd?: string } = {}): CliResult {
  if (!existsSync(cliPath)) throw new Error(`${cliPath} is missing: the test command builds it first (npm test)`);
  const result = spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', cwd: options.cwd ?? repoRoot, timeout: 60_000 });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

export function tempDir(prefix = 'labimg-test-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

/** Every file under `dir`, as paths relative to it with "/" between folders, sorted. */
export function filesIn(dir: string, prefix = ''): string[] {
  return readdirSync(path.join(dir, prefix), { withFileTypes: true })
    .flatMap((entry) => {
      const name = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
      return entry.isDirectory() ? filesIn(dir, name) : [name];
    })
    .sort();
}

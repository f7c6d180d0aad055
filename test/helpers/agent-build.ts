/**
 * Builds dist/agent.js once for the whole test run. ava runs each test file in its own worker process, so
 * "once" needs a lock between processes: the first worker builds, the others wait for it and then find the
 * bundle newer than every source file.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '../..');
export const AGENT_BUNDLE = path.join(REPO_ROOT, 'dist/agent.js');
const LOCK = path.join(REPO_ROOT, 'dist/.agent-build.lock');
const SOURCES = ['agent', 'contract', 'scripts/build.mjs'].map((p) => path.join(REPO_ROOT, p));

function newestSource(entry: string): number {
  const stat = fs.statSync(entry);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...fs.readdirSync(entry).map((name) => newestSource(path.join(entry, name))));
}

function bundleIsFresh(): boolean {
  if (!fs.existsSync(AGENT_BUNDLE)) return false;
  return fs.statSync(AGENT_BUNDLE).mtimeMs >= Math.max(...SOURCES.map(newestSource));
}

let built = false;

export async function ensureAgentBuilt(): Promise<string> {
  if (built) return AGENT_BUNDLE;
  fs.mkdirSync(path.dirname(LOCK), { recursive: true });
  for (let waited = 0; ; waited += 100) {
    try {
      fs.mkdirSync(LOCK);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A lock older than a minute belongs to a worker that died mid-build.
      if (Date.now() - fs.statSync(LOCK).mtimeMs > 60_000) fs.rmSync(LOCK, { recursive: true, force: true });
      if (waited > 120_000) throw new Error(`gave up waiting for ${LOCK}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  try {
    if (!bundleIsFresh()) execFileSync(process.execPath, [path.join(REPO_ROOT, 'scripts/build.mjs'), 'agent'], { cwd: REPO_ROOT, stdio: 'inherit' });
  } finally {
    fs.rmSync(LOCK, { recursive: true, force: true });
  }
  built = true;
  return AGENT_BUNDLE;
}

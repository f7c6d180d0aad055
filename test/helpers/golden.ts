/**
 * Golden files: what labimg writes, kept in test/golden and reviewed like code. After a deliberate change,
 * LABIMG_UPDATE_GOLDEN=1 rewrites the files that differ, and those tests still fail: an update run never passes
 * on the files it has just written. Read the diff, then run the tests again without it.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import { REPO_ROOT } from './agent-build';

export function matchesGolden(t: ExecutionContext, golden: string, actual: string): void {
  const shown = path.relative(REPO_ROOT, golden);
  const expected = existsSync(golden) ? readFileSync(golden, 'utf8') : undefined;
  if (expected === actual) {
    t.pass();
    return;
  }
  if (process.env.LABIMG_UPDATE_GOLDEN === '1') {
    mkdirSync(path.dirname(golden), { recursive: true });
    writeFileSync(golden, actual);
    t.fail(`rewrote ${shown}: review the diff, then run again without LABIMG_UPDATE_GOLDEN`);
    return;
  }
  if (expected === undefined) t.fail(`${shown} is missing: LABIMG_UPDATE_GOLDEN=1 writes it`);
  else t.is(actual, expected, `${shown} differs: LABIMG_UPDATE_GOLDEN=1 rewrites it for review`);
}

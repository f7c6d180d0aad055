import { join, posix } from 'path';

/**
 * Maps a node path (always absolute, as steps write them) into the root. `..` cannot climb out of the root,
 * so a bad path in a config can never make the agent write beside its sandbox in tests.
 */
export function underRoot(root: string, nodePath: string): string {
  if (!nodePath.startsWith('/')) throw new Error(`expected an absolute path, got "${nodePath}"`);
  const normalized = posix.normalize(nodePath);
  return root === '/' ? normalized : join(root, normalized);
}

/** One agent at a time per root (contract/pid-lock.ts). */
import { acquirePidLock } from '../contract/pid-lock';

export class AgentBusy extends Error {}

export function acquireAgentLock(lockFile: string): Promise<() => Promise<void>> {
  return acquirePidLock(lockFile, (owner) => new AgentBusy(owner === undefined ? `could not take the lock ${lockFile}` : `another agent (pid ${owner}) is running; lock ${lockFile}`));
}

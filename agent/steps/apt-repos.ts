/**
 * Lab step 5 (Debian family): package repositories as /etc/apt/sources.list.d/<id>.list, each pinned to its
 * own keyring under /etc/apt/keyrings (signed-by), never to apt's global trust store. Keys are downloaded
 * with curl and dearmored with gpg, as the pkgs.k8s.io instructions do; then `apt-get update`.
 */
import { OS_FAMILIES_ON_NODE } from '../../contract/os-families';
import type { Repository } from '../../contract/agent-config';
import { refreshAptIndexes } from '../packages/apt';
import { managedHeader } from '../text/managed-header';
import type { Step, StepContext } from './step';

const KEYRING_DIR = '/etc/apt/keyrings';

export function aptListPath(repo: Repository): string {
  return `/etc/apt/sources.list.d/${repo.id}.list`;
}

/** One keyring file per signing key: <id>.gpg, then <id>-2.gpg, ... */
export function aptKeyringPaths(repo: Repository): string[] {
  return repo.gpgKeys.map((_, i) => `${KEYRING_DIR}/${repo.id}${i === 0 ? '' : `-${i + 1}`}.gpg`);
}

/** One deb line, pinned to its own keyrings (or, without gpgCheck, trusted as is): `deb [signed-by=...] URI SUITE COMPONENTS`. */
export function aptListContent(repo: Repository): string {
  const option = !repo.gpgCheck ? 'trusted=yes' : repo.gpgKeys.length > 0 ? `signed-by=${aptKeyringPaths(repo).join(',')}` : undefined;
  const fields = ['deb', ...(option ? [`[${option}]`] : []), repo.baseUrl, repo.suite ?? '/', ...(repo.components ?? [])];
  return `${managedHeader()}${fields.join(' ')}\n`;
}

function debRepos(ctx: StepContext): Repository[] {
  return ctx.config.repositories.filter((r) => r.kind === 'deb');
}

export const aptRepos: Step = {
  id: 'apt-repos',
  phase: 'bake',
  title: 'Configure apt repositories and their signing keys',
  applies: (ctx) => OS_FAMILIES_ON_NODE[ctx.config.os.family].packageFormat === 'deb' && debRepos(ctx).length > 0,

  async check(ctx) {
    for (const repo of debRepos(ctx)) {
      if ((await ctx.host.readFile(aptListPath(repo))) !== aptListContent(repo)) return false;
      for (const keyring of keyringsNeeded(repo)) if (!(await ctx.host.exists(keyring))) return false;
    }
    return true;
  },

  async apply(ctx) {
    for (const repo of debRepos(ctx)) {
      const keyrings = keyringsNeeded(repo);
      for (let i = 0; i < keyrings.length; i++) {
        const keyring = keyrings[i] as string;
        if (!(await ctx.host.exists(keyring))) await fetchKey(ctx, repo.gpgKeys[i] as string, keyring);
      }
      await ctx.host.writeFile(aptListPath(repo), aptListContent(repo), 0o644);
    }
    await refreshAptIndexes(ctx.host);
  },
};

function keyringsNeeded(repo: Repository): string[] {
  return repo.gpgCheck ? aptKeyringPaths(repo) : [];
}

/** curl → armored key beside the keyring → gpg --dearmor → keyring; the armored copy is removed. */
async function fetchKey(ctx: StepContext, url: string, keyring: string): Promise<void> {
  const armored = keyring.replace(/\.gpg$/, '.asc');
  const { host } = ctx;
  await host.run(['curl', '-fsSL', '--retry', '3', '--create-dirs', '-o', host.hostPath(armored), url], { timeoutMs: 120_000, retries: 2 });
  await host.run(['gpg', '--batch', '--yes', '--dearmor', '-o', host.hostPath(keyring), host.hostPath(armored)]);
  await host.remove(armored);
}

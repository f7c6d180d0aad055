/**
 * Lab step 5 (RHEL family): package repositories as /etc/yum.repos.d/<id>.repo, e.g. the Kubernetes repo on
 * the Aliyun mirror. `exclude=` keeps kubelet/kubeadm/kubectl from moving on a routine `yum update`; the
 * install step lifts it with --disableexcludes.
 */
import { OS_FAMILIES_ON_NODE } from '../../contract/os-families';
import type { Repository } from '../../contract/agent-config';
import { renderIni } from '../text/ini';
import { managedHeader } from '../text/managed-header';
import type { Step, StepContext } from './step';

export function yumRepoPath(repo: Repository): string {
  return `/etc/yum.repos.d/${repo.id}.repo`;
}

export function yumRepoContent(repo: Repository): string {
  return (
    managedHeader() +
    renderIni({
      [repo.id]: {
        name: repo.name,
        baseurl: repo.baseUrl,
        enabled: 1,
        gpgcheck: repo.gpgCheck ? 1 : 0,
        // yum splits gpgkey= on whitespace; one line stays readable in `yum repolist -v`.
        gpgkey: repo.gpgKeys.length > 0 ? repo.gpgKeys.join(' ') : undefined,
        exclude: repo.exclude && repo.exclude.length > 0 ? repo.exclude.join(' ') : undefined,
      },
    })
  );
}

function rpmRepos(ctx: StepContext): Repository[] {
  return ctx.config.repositories.filter((r) => r.kind === 'rpm');
}

export const yumRepos: Step = {
  id: 'yum-repos',
  phase: 'bake',
  title: 'Configure yum repositories',
  applies: (ctx) => OS_FAMILIES_ON_NODE[ctx.config.os.family].packageFormat === 'rpm' && rpmRepos(ctx).length > 0,

  async check(ctx) {
    for (const repo of rpmRepos(ctx)) if ((await ctx.host.readFile(yumRepoPath(repo))) !== yumRepoContent(repo)) return false;
    return true;
  },

  async apply(ctx) {
    for (const repo of rpmRepos(ctx)) {
      const wanted = yumRepoContent(repo);
      if ((await ctx.host.readFile(yumRepoPath(repo))) !== wanted) await ctx.host.writeFile(yumRepoPath(repo), wanted, 0o644);
    }
  },
};

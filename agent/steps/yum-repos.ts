/**
 * Lab step 5 (RHEL family): package repositories as /etc/yum.repos.d/<file>.repo, e.g. the Kubernetes repo on
 * the Aliyun mirror. `exclude=` keeps kubelet/kubeadm/kubectl from moving on a routine `yum update`; the
 * install step lifts it with --disableexcludes.
 *
 * Repositories that name one file are written into it together and replace it whole. That is how an end-of-life
 * distro's own repositories are replaced: CentOS 7's CentOS-Base.repo names mirrorlist.centos.org, which has no
 * DNS record since 2024-07-01, and yum refuses to install anything while an enabled repository cannot be
 * reached. This step runs before the first package is installed or removed.
 */
import { OS_FAMILIES_ON_NODE } from '../../contract/os-families';
import type { Repository } from '../../contract/agent-config';
import { managedHeader } from '../text/managed-header';
import type { Step, StepContext } from './step';

export interface YumRepoFile {
  path: string;
  content: string;
}

/** A repository's section of its .repo file (INI, as yum reads it): keys without a value are left out. */
function section(repo: Repository): string {
  const lines = [`[${repo.id}]`, `name=${repo.name}`, `baseurl=${repo.baseUrl}`, 'enabled=1', `gpgcheck=${repo.gpgCheck ? 1 : 0}`];
  if (repo.repoGpgCheck !== undefined) lines.push(`repo_gpgcheck=${repo.repoGpgCheck ? 1 : 0}`);
  // yum splits gpgkey= on whitespace; one line stays readable in `yum repolist -v`.
  if (repo.gpgKeys.length > 0) lines.push(`gpgkey=${repo.gpgKeys.join(' ')}`);
  if (repo.exclude && repo.exclude.length > 0) lines.push(`exclude=${repo.exclude.join(' ')}`);
  return lines.join('\n');
}

/** The .repo files the repositories make, in the order each file is first named. */
export function yumRepoFiles(repos: readonly Repository[]): YumRepoFile[] {
  const byFile = new Map<string, Repository[]>();
  for (const repo of repos) {
    const file = repo.file ?? repo.id;
    byFile.set(file, [...(byFile.get(file) ?? []), repo]);
  }
  return [...byFile].map(([file, members]) => ({
    path: `/etc/yum.repos.d/${file}.repo`,
    content: `${managedHeader()}${members.map(section).join('\n\n')}\n`,
  }));
}

function rpmRepoFiles(ctx: StepContext): YumRepoFile[] {
  return yumRepoFiles(ctx.config.repositories.filter((r) => r.kind === 'rpm'));
}

export const yumRepos: Step = {
  id: 'yum-repos',
  phase: 'bake',
  title: 'Configure yum repositories',
  applies: (ctx) => OS_FAMILIES_ON_NODE[ctx.config.os.family].packageFormat === 'rpm' && rpmRepoFiles(ctx).length > 0,

  async check(ctx) {
    for (const file of rpmRepoFiles(ctx)) if ((await ctx.host.readFile(file.path)) !== file.content) return false;
    return true;
  },

  async apply(ctx) {
    for (const file of rpmRepoFiles(ctx)) {
      if ((await ctx.host.readFile(file.path)) !== file.content) await ctx.host.writeFile(file.path, file.content, 0o644);
    }
  },
};

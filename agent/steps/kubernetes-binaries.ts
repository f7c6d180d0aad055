/**
 * Lab step 8 where there are no packages (Flatcar): kubelet, kubeadm and kubectl as files in /opt/bin, each
 * exactly the file the profile pins by sha256, and the kubelet's unit with kubeadm's drop-in. Ignition
 * fetches the binaries against the same sha256 before first boot, so there this step only checks. Anywhere
 * else it downloads each missing one beside its place, has sha256sum check it, and only then installs it: a
 * download that does not match is removed, and nothing unchecked is ever run.
 */
import type { KubernetesBinary } from '../../contract/agent-config';
import { matchesSha256 } from '../host/sha256-check';
import { kubelet, UnitFile } from '../runtime/kubelet';
import type { Step, StepContext } from './step';

/** Downloads go over slow links too: a generous timeout and a few retries (curl's own, for transient errors). */
const DOWNLOAD_OPTIONS = { timeoutMs: 30 * 60_000, retries: 2, retryDelayMs: 15_000 };

function binaries(ctx: StepContext): KubernetesBinary[] {
  return ctx.config.kubernetes.binaries ?? [];
}

function units(ctx: StepContext): UnitFile[] {
  const binary = binaries(ctx).find((candidate) => candidate.name === 'kubelet');
  if (!binary) throw new Error('kubernetes.binaries names no kubelet');
  return kubelet.unitFiles(binary.path);
}

async function isInPlace(ctx: StepContext, binary: KubernetesBinary): Promise<boolean> {
  return (await ctx.host.fileSha256(binary.path)) === binary.sha256 && (await ctx.host.fileMode(binary.path)) === 0o755;
}

async function unitsInPlace(ctx: StepContext): Promise<boolean> {
  for (const unit of units(ctx)) if ((await ctx.host.readFile(unit.path)) !== unit.content) return false;
  return true;
}

/** Downloads `binary` beside its place, has sha256sum check it against the pin, and only then installs it. */
async function fetchChecked(ctx: StepContext, binary: KubernetesBinary): Promise<void> {
  const download = `${binary.path}.labimg-download`;
  await ctx.host.run(['curl', '-fsSL', '--retry', '3', '--create-dirs', '-o', ctx.host.hostPath(download), binary.url], DOWNLOAD_OPTIONS);
  if (!(await matchesSha256(ctx.host, download, binary.sha256))) {
    throw new Error(`${binary.url} is not the file the profile pins (sha256 ${binary.sha256}); nothing was installed`);
  }
  await ctx.host.run(['install', '-m', '0755', ctx.host.hostPath(download), ctx.host.hostPath(binary.path)]);
  await ctx.host.remove(download);
}

export const kubernetesBinaries: Step = {
  id: 'kubernetes-binaries',
  phase: 'bake',
  title: 'Install kubelet, kubeadm and kubectl binaries, checked by sha256, and the kubelet unit',
  applies: (ctx) => binaries(ctx).length > 0,

  async check(ctx) {
    for (const binary of binaries(ctx)) if (!(await isInPlace(ctx, binary))) return false;
    return unitsInPlace(ctx);
  },

  async apply(ctx) {
    for (const binary of binaries(ctx)) if (!(await isInPlace(ctx, binary))) await fetchChecked(ctx, binary);
    if (!(await unitsInPlace(ctx))) {
      for (const unit of units(ctx)) await ctx.host.writeFile(unit.path, unit.content, 0o644);
      await ctx.host.services.daemonReload();
    }
  },
};

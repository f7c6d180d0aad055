/**
 * Lab step 4b: kernel parameters (bridged traffic through iptables, IPv4 forwarding). Written to
 * /etc/sysctl.d so systemd-sysctl sets them at boot, then applied now with `sysctl --system`, which reads
 * every sysctl.d file in the order the boot would.
 */
import { normalizeSysctlValue, readSysctl } from '../host/facts';
import { managedHeader } from '../text/managed-header';
import type { Step, StepContext } from './step';

export const SYSCTL_FILE = '/etc/sysctl.d/99-labimg-kubernetes.conf';

export function sysctlContent(sysctls: Record<string, string>): string {
  return managedHeader() + Object.entries(sysctls).map(([key, value]) => `${key} = ${value}\n`).join('');
}

export const sysctls: Step = {
  id: 'sysctls',
  phase: 'bake',
  title: 'Set kernel parameters now and at boot',
  applies: (ctx) => Object.keys(ctx.config.host.sysctls).length > 0,

  async check(ctx) {
    const persisted = await ctx.host.readFile(SYSCTL_FILE);
    return persisted === sysctlContent(ctx.config.host.sysctls) && (await liveMismatches(ctx)).length === 0;
  },

  async apply(ctx) {
    await ctx.host.writeFile(SYSCTL_FILE, sysctlContent(ctx.config.host.sysctls), 0o644);
    await ctx.host.run(['sysctl', '--system']);
  },
};

async function liveMismatches(ctx: StepContext): Promise<string[]> {
  const wrong: string[] = [];
  for (const [key, value] of Object.entries(ctx.config.host.sysctls)) {
    if ((await readSysctl(ctx.host, key)) !== normalizeSysctlValue(value)) wrong.push(key);
  }
  return wrong;
}

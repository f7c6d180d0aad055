/**
 * The machine a plan is computed for: a freshly installed host of the profile's OS, with the things the lab
 * turns off still on (firewall running, SELinux enforcing, a swap line in /etc/fstab and swap active), the
 * stale runtime packages the profile removes still installed, and nothing of Kubernetes yet. So the plan shows
 * every action the agent can take on that OS.
 */
import { OS_FAMILIES } from '../contract/os-families';
import type { AgentConfig, NodeConfig } from '../contract/agent-config';
import { GPU_RESOURCE } from './gpu/readiness-gate';
import type { QueryAnswers } from './host/dry-run-host';
import { COMMAND_NOT_FOUND } from './host/host';

/** The GPU a plan with `--gpu present` simulates: an H100 (pci.ids 10de:2330), as nvidia-smi names it. */
const PLAN_GPU = { address: '0000:00:1e.0', busId: '00000000:00:1E.0', device: '0x2330', name: 'NVIDIA H100 80GB HBM3', driverVersion: 'DRIVER-VERSION' };

/** What the plan shows for `uname -r`. */
export const PLAN_KERNEL_RELEASE = '$(uname -r)';

const SELINUX_CONFIG = [
  '# This file controls the state of SELinux on the system.',
  'SELINUX=enforcing',
  'SELINUXTYPE=targeted',
  '',
].join('\n');

export function freshHostFiles(config: AgentConfig, node: NodeConfig | undefined, gpu: boolean): Record<string, string> {
  const family = OS_FAMILIES[config.os.family];
  const fresh = family.freshInstall;
  const files: Record<string, string> = {
    '/etc/os-release': [
      `ID="${config.os.id}"`,
      `VERSION_ID="${config.os.versionId}"`,
      `ID_LIKE="${fresh.idLike}"`,
      `PRETTY_NAME="${config.os.id} ${config.os.versionId}"`,
      '',
    ].join('\n'),
    '/etc/hostname': `${node?.nodeName ?? 'node-1'}\n`,
    '/etc/fstab': `${fresh.fstab.join('\n')}\n`,
    '/proc/swaps': `Filename\tType\tSize\tUsed\tPriority\n${fresh.swaps}`,
    '/proc/modules': '',
    // The running kernel's release is only known on the node: the plan shows it as NVIDIA's guide types it,
    // with the headers it needs (which a real install brings) already in place.
    '/proc/sys/kernel/osrelease': `${PLAN_KERNEL_RELEASE}\n`,
    [`/lib/modules/${PLAN_KERNEL_RELEASE}/build/Makefile`]: '',
    // A host bridge, so PCI detection always has something that is not a GPU to skip.
    '/sys/bus/pci/devices/0000:00:00.0/vendor': '0x8086\n',
    '/sys/bus/pci/devices/0000:00:00.0/class': '0x060000\n',
  };
  if (family.selinux) files['/etc/selinux/config'] = SELINUX_CONFIG;
  if (gpu) {
    const device = `/sys/bus/pci/devices/${PLAN_GPU.address}`;
    files[`${device}/vendor`] = '0x10de\n';
    files[`${device}/class`] = '0x030200\n';
    files[`${device}/device`] = `${PLAN_GPU.device}\n`;
    // The bake phase installs the toolkit before the boot phase looks for its runtime binary; the dry run
    // runs no installer, so the binary is there from the start.
    if (config.gpu) files[config.gpu.runtimeBinary] = '';
  }
  return files;
}

export function freshHostAnswers(config: AgentConfig): QueryAnswers {
  const wanted = new Set(config.runtime.packages.map((p) => p.name));
  const stale = new Set(config.runtime.removePackages.filter((name) => !wanted.has(name)));
  return (argv) => {
    const [command, ...args] = argv;
    const last = args[args.length - 1] ?? '';
    if (command === 'getenforce') return { code: 0, stdout: 'Enforcing\n' };
    if (command === 'nvidia-smi') return { code: 0, stdout: `${PLAN_GPU.busId}, ${PLAN_GPU.name}, ${PLAN_GPU.driverVersion}\n` };
    // The node's own Node object, as the API server has it once the device plugin runs and the gate is lifted.
    if (command === 'kubectl' && args.includes('node') && args[args.indexOf('node') - 1] === 'get') {
      return { code: 0, stdout: JSON.stringify({ kind: 'Node', metadata: { name: args[args.indexOf('node') + 1] }, spec: {}, status: { allocatable: { [GPU_RESOURCE]: '1' } } }) };
    }
    // Ubuntu installs ufw and turns it on; Debian ships no firewall front-end at all.
    if (command === 'ufw' && args[0] === 'status') return config.os.id === 'ubuntu' ? { code: 0, stdout: 'Status: active\n' } : { code: COMMAND_NOT_FOUND, stdout: '' };
    if (command === 'systemctl' && last === 'firewalld') {
      if (args[0] === 'is-enabled') return { code: 0, stdout: 'enabled\n' };
      if (args[0] === 'is-active') return { code: 0, stdout: 'active\n' };
    }
    if (command === 'rpm' && stale.has(last)) return { code: 0, stdout: '1.13.1-209.el7\n' };
    if (command === 'dpkg-query' && stale.has(last)) return { code: 0, stdout: 'install ok installed\t20.10.7-0ubuntu5\n' };
    return undefined; // not installed, not running, not present
  };
}

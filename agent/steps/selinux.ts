/**
 * Lab step 2: SELinux stops blocking container file access. `setenforce 0` takes effect now;
 * SELINUX= in /etc/selinux/config keeps it so after a reboot. Only families that ship SELinux enabled get it
 * (contract/os-families.ts).
 */
import { OS_FAMILIES_ON_NODE } from '../../contract/os-families';
import { readKey, setKey } from '../text/key-value-file';
import type { Step, StepContext } from './step';

const CONFIG = '/etc/selinux/config';

export const selinux: Step = {
  id: 'selinux',
  phase: 'bake',
  title: 'Put SELinux in permissive mode now and at boot',
  applies: (ctx) => OS_FAMILIES_ON_NODE[ctx.config.os.family].selinux && ctx.config.host.selinux !== 'unchanged',

  async check(ctx) {
    const config = await ctx.host.readFile(CONFIG);
    if (config === undefined) return true; // SELinux is not installed
    return readKey(config, 'SELINUX') === wantedMode(ctx) && !(await isEnforcing(ctx));
  },

  async apply(ctx) {
    if (await isEnforcing(ctx)) await ctx.host.run(['setenforce', '0']);
    const config = await ctx.host.readFile(CONFIG);
    if (config !== undefined && readKey(config, 'SELINUX') !== wantedMode(ctx)) {
      await ctx.host.writeFile(CONFIG, setKey(config, 'SELINUX', wantedMode(ctx)), 0o644);
    }
  },
};

function wantedMode(ctx: StepContext): string {
  return ctx.config.host.selinux; // 'permissive' | 'disabled', as the config file spells them
}

/** getenforce prints Enforcing, Permissive or Disabled; without getenforce there is no SELinux to relax. */
async function isEnforcing(ctx: StepContext): Promise<boolean> {
  const result = await ctx.host.query(['getenforce']);
  return result.code === 0 && result.stdout.trim() === 'Enforcing';
}

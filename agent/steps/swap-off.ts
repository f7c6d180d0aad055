/**
 * Lab step 3: no swap. The kubelet refuses to start with swap on (unless told otherwise), so swap goes off now
 * (`swapoff -a`) and its /etc/fstab entries are commented out so it stays off after a reboot.
 */
import { activeSwaps } from '../host/facts';
import { commentOutSwap, swapEntries } from '../text/fstab';
import type { Step } from './step';

export const swapOff: Step = {
  id: 'swap-off',
  phase: 'bake',
  title: 'Turn swap off now and at boot',
  applies: (ctx) => ctx.config.host.disableSwap,

  async check(ctx) {
    const fstab = (await ctx.host.readFile('/etc/fstab')) ?? '';
    return (await activeSwaps(ctx.host)).length === 0 && swapEntries(fstab).length === 0;
  },

  async apply(ctx) {
    if ((await activeSwaps(ctx.host)).length > 0) await ctx.host.run(['swapoff', '-a']);
    const fstab = await ctx.host.readFile('/etc/fstab');
    if (fstab !== undefined && swapEntries(fstab).length > 0) {
      const mode = (await ctx.host.fileMode('/etc/fstab')) ?? 0o644;
      await ctx.host.writeFile('/etc/fstab', commentOutSwap(fstab), mode);
    }
  },
};

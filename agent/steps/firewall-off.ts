/**
 * Lab step 1: the firewall is off, so kubelet, the API server and the CNI can talk between nodes without a
 * port list. firewalld on the RHEL family, ufw on Debian/Ubuntu.
 */
import { COMMAND_NOT_FOUND } from '../host/host';
import type { Step, StepContext } from './step';

export const firewallOff: Step = {
  id: 'firewall-off',
  phase: 'bake',
  title: 'Stop and disable the distro firewall',
  applies: (ctx) => ctx.config.host.disableFirewall,

  async check(ctx) {
    if (ctx.config.os.family === 'rhel') {
      const state = await ctx.host.services.state('firewalld');
      return !state.enabled && !state.active;
    }
    return ufwInactive(ctx);
  },

  async apply(ctx) {
    if (ctx.config.os.family === 'rhel') {
      await ctx.host.services.disable('firewalld', { now: true });
    } else {
      await ctx.host.run(['ufw', 'disable']);
    }
  },
};

async function ufwInactive(ctx: StepContext): Promise<boolean> {
  const status = await ctx.host.query(['ufw', 'status']);
  if (status.code === COMMAND_NOT_FOUND) return true; // no ufw installed: nothing to turn off
  return status.code === 0 && /^Status: inactive/m.test(status.stdout);
}

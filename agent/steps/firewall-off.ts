/**
 * Lab step 1: the firewall is off, so kubelet, the API server and the CNI can talk between nodes without a
 * port list. Which front-end that is comes from the OS family (contract/os-families.ts): firewalld on the
 * RHEL family, ufw on Debian and Ubuntu.
 */
import { OS_FAMILIES_ON_NODE } from '../../contract/os-families';
import { COMMAND_NOT_FOUND } from '../host/host';
import type { Step, StepContext } from './step';

interface FirewallFrontEnd {
  isOff(ctx: StepContext): Promise<boolean>;
  turnOff(ctx: StepContext): Promise<void>;
}

const FRONT_ENDS: Record<'firewalld' | 'ufw', FirewallFrontEnd> = {
  firewalld: {
    async isOff(ctx) {
      const state = await ctx.host.services.state('firewalld');
      return !state.enabled && !state.active;
    },
    turnOff: (ctx) => ctx.host.services.disable('firewalld', { now: true }),
  },
  ufw: {
    async isOff(ctx) {
      const status = await ctx.host.query(['ufw', 'status']);
      if (status.code === COMMAND_NOT_FOUND) return true; // no ufw installed (Debian): nothing to turn off
      return status.code === 0 && /^Status: inactive/m.test(status.stdout);
    },
    async turnOff(ctx) {
      await ctx.host.run(['ufw', 'disable']);
    },
  },
};

function frontEnd(ctx: StepContext): FirewallFrontEnd | undefined {
  const firewall = OS_FAMILIES_ON_NODE[ctx.config.os.family].firewall;
  return firewall === 'none' ? undefined : FRONT_ENDS[firewall];
}

export const firewallOff: Step = {
  id: 'firewall-off',
  phase: 'bake',
  title: 'Stop and disable the distro firewall',
  applies: (ctx) => ctx.config.host.disableFirewall && frontEnd(ctx) !== undefined,
  check: async (ctx) => (await frontEnd(ctx)?.isOff(ctx)) ?? true,
  apply: async (ctx) => frontEnd(ctx)?.turnOff(ctx),
};

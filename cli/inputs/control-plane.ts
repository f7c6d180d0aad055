import { BOOTSTRAP_TOKEN_TTL_RANGE } from '../../contract/agent-config';
import { UserError } from '../../contract/errors';
import type { ControlPlaneSettings } from '../../builder/build';
import { parseIpv4Cidr } from '../../builder/profiles/cidr';
import { parseDuration } from './duration';

/** --advertise-network and --bootstrap-token-ttl: what a control plane's node.json says about its own network and tokens. */
export interface ControlPlaneFlags {
  advertiseNetwork?: string;
  bootstrapTokenTtl?: string;
}

/** Undefined when neither flag was given; an UserError naming the flag when a value is malformed. */
export function readControlPlaneSettings(flags: ControlPlaneFlags): ControlPlaneSettings | undefined {
  const settings: ControlPlaneSettings = {};
  if (flags.advertiseNetwork !== undefined) {
    const parsed = parseIpv4Cidr(flags.advertiseNetwork);
    if (!parsed.ok) {
      const hint = parsed.reason === 'host-bits' ? ` (the network is ${parsed.network})` : '';
      throw new UserError(`--advertise-network: expected an IPv4 network such as 192.168.76.0/24, got "${flags.advertiseNetwork}"${hint}`);
    }
    settings.advertiseNetwork = flags.advertiseNetwork;
  }
  if (flags.bootstrapTokenTtl !== undefined) {
    const seconds = parseDuration(flags.bootstrapTokenTtl, '--bootstrap-token-ttl') / 1000;
    if (seconds < BOOTSTRAP_TOKEN_TTL_RANGE.minSeconds || seconds > BOOTSTRAP_TOKEN_TTL_RANGE.maxSeconds) {
      throw new UserError(`--bootstrap-token-ttl: expected 5m to 24h (a new token is published at half its life, and the endpoint stops handing one out a minute before it expires), got "${flags.bootstrapTokenTtl}"`);
    }
    settings.bootstrapTokenTtlSeconds = seconds;
  }
  return Object.keys(settings).length > 0 ? settings : undefined;
}

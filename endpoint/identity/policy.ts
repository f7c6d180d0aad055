/**
 * What a pool asks of a verified instance identity document before its instance may enroll (IdentityPolicy):
 * the cloud, the account, optionally the region and image, a node name that is the instance's own, and, for
 * AWS, a document signed recently enough. The signature itself is checked before (documents.ts).
 */
import type { IdentityPolicy } from '../records';
import type { InstanceIdentity } from './documents';

/** A launch this far in the future by the endpoint's clock is a clock problem somewhere, not a new instance. */
const CLOCK_SKEW_MS = 5 * 60_000;

/** AWS's default for IdentityPolicy.launchWindowMs: an hour from launch to the agent's first enrollment. */
export const DEFAULT_LAUNCH_WINDOW_MS = 60 * 60_000;

/** Why `identity` may not enroll `node` into pool `pool` under `policy`, or undefined when it may. */
export function policyRefusal(pool: string, policy: IdentityPolicy, identity: InstanceIdentity, node: string, now: Date): string | undefined {
  const instance = `instance ${identity.instanceId}`;
  if (identity.provider !== policy.provider) return `pool "${pool}" takes ${policy.provider} identity documents, not ${identity.provider}`;
  if (!policy.accounts.includes(identity.accountId)) return `${instance} belongs to account ${identity.accountId}, which pool "${pool}" does not take`;
  if (policy.regions && !policy.regions.includes(identity.region)) return `${instance} runs in region ${identity.region}, which pool "${pool}" does not take`;
  if (policy.images && !(identity.imageId !== undefined && policy.images.includes(identity.imageId))) {
    return `${instance} was made from image ${identity.imageId ?? '(none named)'}, which pool "${pool}" does not take`;
  }
  // The name is the instance's own: any instance of the account must not take another's name.
  if (node !== identity.instanceId) return `an identity document enrolls its own instance, named "${identity.instanceId}", not "${node}"`;
  if (identity.provider === 'aws') return launchRefusal(instance, policy.launchWindowMs, identity.launchedAt, now);
  return undefined;
}

/** AWS signs the document at launch (pendingTime) and not again until a stop and start: that is its freshness. */
function launchRefusal(instance: string, windowMs: number, launchedAt: string | undefined, now: Date): string | undefined {
  if (launchedAt === undefined) return `the identity document of ${instance} has no pendingTime, so its age is unknown`;
  const age = now.getTime() - Date.parse(launchedAt);
  if (age < -CLOCK_SKEW_MS) return `${instance} was launched at ${launchedAt}, in the future by this endpoint's clock`;
  if (age > windowMs) {
    return `${instance} was launched at ${launchedAt}, more than ${Math.round(windowMs / 60_000)} min ago; its document is taken only that long after launch (a stop and start signs a new one)`;
  }
  return undefined;
}

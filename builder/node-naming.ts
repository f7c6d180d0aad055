/**
 * What a built node is called when nothing names it by hand: the profile's kubernetes.nodeName, with the cloud
 * the build is for. An autoscaling pool's nodes must have names that are unique and never come back: on EC2
 * the default hostname is derived from the private IP ("ip-10-0-1-23.ec2.internal", AWS "Amazon EC2 instance
 * hostname types", https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-instance-naming.html, read
 * 2026-12-06), and a new instance that gets a terminated one's IP would take over its Node object. So a build
 * for a scaling group names nodes after their instance id unless the profile says machine-id, and refuses
 * hostname.
 */
import type { IdentityProvider, NodeNameSource } from '../contract/agent-config';
import { UserError } from '../contract/errors';
import type { NodeNaming } from './profiles/types';

export interface NamingContext {
  profileName: string;
  /** kubernetes.nodeName as the profile says it; absent when it says nothing. */
  naming?: NodeNaming;
  /** The cloud of the scaling group the build is for (`--autoscaling`). */
  autoscaling?: IdentityProvider;
  /** The cloud whose identity documents the pool's workers enroll with (`--identity`). */
  identity?: IdentityProvider;
}

/** node.json's nameFrom for the build's nodes; undefined for hostname. */
export function nameSourceFor({ profileName, naming, autoscaling, identity }: NamingContext): NodeNameSource | undefined {
  // A cloud's scaling group launches instances that can vouch for themselves with that cloud's documents only.
  if (autoscaling && identity && autoscaling !== identity) throw new UserError(`--autoscaling ${autoscaling} and --identity ${identity} name different clouds`);
  const chosen = naming ?? (autoscaling ? 'instance-id' : 'hostname');
  if (chosen === 'hostname') {
    if (autoscaling) {
      throw new UserError(
        `profile ${profileName} names nodes after their hostname (kubernetes.nodeName: hostname), which a ${autoscaling} scaling group derives from the private IP and gives again after an instance is gone: use instance-id or machine-id`,
      );
    }
    return undefined;
  }
  if (chosen === 'machine-id') return { from: 'machine-id' };
  const provider = autoscaling ?? identity;
  if (!provider) {
    throw new UserError(`profile ${profileName} names nodes after their instance id (kubernetes.nodeName: instance-id): say which cloud with --autoscaling aws|aliyun or --identity aws|aliyun`);
  }
  return { from: 'instance-id', provider };
}

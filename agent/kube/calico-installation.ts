/**
 * The Calico operator's Installation resource, written by the agent from the AgentConfig rather than taken
 * from Calico's custom-resources.yaml, whose default pool (192.168.0.0/16) rarely matches the pod subnet.
 */
import type { CniSpec } from '../../contract/agent-config';
import { manifestStream } from '../text/manifest-stream';

type CalicoInstallationSpec = NonNullable<CniSpec['calicoInstallation']>;

export interface CalicoInstallation {
  apiVersion: 'operator.tigera.io/v1';
  kind: 'Installation';
  metadata: { name: 'default' };
  spec: {
    registry?: string;
    calicoNetwork: {
      ipPools: Array<{ cidr: string; encapsulation: string; blockSize: number; natOutgoing: 'Enabled'; nodeSelector: string }>;
    };
  };
}

export function calicoInstallation(spec: CalicoInstallationSpec): CalicoInstallation {
  const installation: CalicoInstallation = {
    apiVersion: 'operator.tigera.io/v1',
    kind: 'Installation',
    metadata: { name: 'default' },
    spec: {
      calicoNetwork: {
        ipPools: spec.ipPools.map((pool) => ({ ...pool, natOutgoing: 'Enabled', nodeSelector: 'all()' })),
      },
    },
  };
  if (spec.registry) installation.spec.registry = spec.registry;
  return installation;
}

export function renderCalicoInstallation(spec: CalicoInstallationSpec): string {
  return manifestStream([calicoInstallation(spec)]);
}

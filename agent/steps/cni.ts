/**
 * Lab step 11 (control plane): the pod network. Calico's operator manifest, then the Installation resource
 * the agent writes with the cluster's pod CIDR; or the profile's manifests for another plugin.
 */
import { PATHS } from '../../contract/node-paths';
import { renderCalicoInstallation } from '../kube/calico-installation';
import { manifestsStep, type ManifestSpec } from './manifests-step';
import { isControlPlane } from './step';

export const cniManifests: ManifestSpec = {
  id: 'cni',
  title: 'Install the pod network (CNI)',
  applies: (ctx) => isControlPlane(ctx) && ctx.config.cni.plugin !== 'none',
  manifests: (ctx) => ctx.config.cni.manifests,
  generated: (ctx) => {
    const installation = ctx.config.cni.calicoInstallation;
    if (ctx.config.cni.plugin !== 'calico' || !installation) return [];
    return [{ path: PATHS.calicoInstallation, content: renderCalicoInstallation(installation) }];
  },
};

export const cni = manifestsStep(cniManifests);

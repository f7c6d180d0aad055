/**
 * NVIDIA's device plugin with GPU sharing: the profile's CUDA time-slicing and MIG strategy rendered at build time
 * into the plugin's config file, a ConfigMap, and the static DaemonSet of the release the profile pins with that
 * ConfigMap mounted and CONFIG_FILE naming it. The node only writes the result and creates it like any manifest.
 *
 * Sources (NVIDIA/k8s-device-plugin at v0.17.4, commit fd56a747defe; read 2026-12-06):
 * - the config file: `version: v1`, `flags.migStrategy` (none | single | mixed), `sharing.timeSlicing` with
 *   `renameByDefault` and `resources: [{name, replicas}]` (api/config/v1/config.go, flags.go, replicas.go,
 *   sharing.go; README "With CUDA Time-Slicing");
 * - the plugin reads it from the file `--config-file` / `$CONFIG_FILE` names; a flag or variable set on the
 *   container would win over it, and the static DaemonSet sets neither MIG_STRATEGY nor CONFIG_FILE
 *   (cmd/nvidia-device-plugin/main.go; README "CONFIG_FILE");
 * - the DaemonSet below is deployments/static/nvidia-device-plugin.yml of v0.17.4 field for field, plus the config
 *   volume and variable. Other releases' static files differ (v0.17.0-v0.17.3 name the volume device-plugin,
 *   v0.18 sets no FAIL_ON_INIT_ERROR), so the profile checks refuse sharing with any other release.
 */
import { dump } from 'js-yaml';
import type { Profile } from './profiles/types';

type DevicePlugin = NonNullable<NonNullable<Profile['gpu']>['devicePlugin']>;

/** The one release whose static manifest the DaemonSet below reproduces. */
export const SHARING_PLUGIN_RELEASE = 'v0.17.4';
/** NVIDIA's static manifest of a release, as the profiles name it (or a mirror's copy of it, which keeps the path). */
export const STATIC_MANIFEST = /\/NVIDIA\/k8s-device-plugin\/(v[0-9]+\.[0-9]+\.[0-9]+)\/deployments\/static\/nvidia-device-plugin\.yml$/;
/** Where the node writes the rendered manifest before it creates it. */
export const SHARED_PLUGIN_MANIFEST = '/etc/labimg/nvidia-device-plugin-shared.json';

const CONFIG_MAP = 'nvidia-device-plugin-config';
const CONFIG_DIR = '/etc/nvidia-device-plugin';
const CONFIG_KEY = 'config.yaml';
const IMAGE = `nvcr.io/nvidia/k8s-device-plugin:${SHARING_PLUGIN_RELEASE}`;

export function sharesGpus(plugin: DevicePlugin): boolean {
  return plugin.timeSlicing !== undefined || plugin.migStrategy !== undefined;
}

/** The plugin's config file (YAML). */
export function devicePluginConfig(plugin: DevicePlugin): string {
  const config: Record<string, unknown> = { version: 'v1' };
  if (plugin.migStrategy) config.flags = { migStrategy: plugin.migStrategy };
  if (plugin.timeSlicing) {
    config.sharing = {
      timeSlicing: {
        renameByDefault: plugin.timeSlicing.renameByDefault,
        resources: Object.entries(plugin.timeSlicing.resources).map(([name, replicas]) => ({ name, replicas })),
      },
    };
  }
  return dump(config, { lineWidth: -1 });
}

/** An image reference with its registry moved as the mirror moves it inside manifests (AgentConfig.manifestImageRegistries). */
function movedImage(image: string, moves: Record<string, string>): string {
  const slash = image.indexOf('/');
  const to = moves[image.slice(0, slash)];
  return to === undefined ? image : `${to}${image.slice(slash)}`;
}

/** The ConfigMap and the DaemonSet, one List kubectl creates; images moved as `moves` says. */
export function sharedDevicePluginManifest(plugin: DevicePlugin, moves: Record<string, string> = {}): string {
  const configMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: CONFIG_MAP, namespace: 'kube-system' },
    data: { [CONFIG_KEY]: devicePluginConfig(plugin) },
  };
  const daemonSet = {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'nvidia-device-plugin-daemonset', namespace: 'kube-system' },
    spec: {
      selector: { matchLabels: { name: 'nvidia-device-plugin-ds' } },
      updateStrategy: { type: 'RollingUpdate' },
      template: {
        metadata: { labels: { name: 'nvidia-device-plugin-ds' } },
        spec: {
          tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
          priorityClassName: 'system-node-critical',
          containers: [
            {
              image: movedImage(IMAGE, moves),
              name: 'nvidia-device-plugin-ctr',
              env: [
                { name: 'FAIL_ON_INIT_ERROR', value: 'false' },
                { name: 'CONFIG_FILE', value: `${CONFIG_DIR}/${CONFIG_KEY}` },
              ],
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
              volumeMounts: [
                { name: 'kubelet-device-plugins-dir', mountPath: '/var/lib/kubelet/device-plugins' },
                { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
              ],
            },
          ],
          volumes: [
            { name: 'kubelet-device-plugins-dir', hostPath: { path: '/var/lib/kubelet/device-plugins', type: 'Directory' } },
            { name: 'config', configMap: { name: CONFIG_MAP } },
          ],
        },
      },
    },
  };
  return `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [configMap, daemonSet] }, null, 2)}\n`;
}

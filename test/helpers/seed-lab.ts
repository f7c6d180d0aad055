/**
 * The seed lab (centos-gpu, Docker) under the aliyun mirror, as a control plane with a GPU, run for real on a
 * fake machine: the scenario that makes the agent write the most files of its own, moved addon manifests and
 * the NVIDIA RuntimeClass included. The curl stand-in serves the two manifests it downloads.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { AgentConfig, NodeConfig } from '../../contract/agent-config';
import { compileAgentConfig } from '../../builder/compile';
import { loadProfile } from '../../builder/profiles';
import { fixture, pinnedToFixtures } from './agent-machine';
import { runScenario, type Scenario } from './agent-scenario';

const FIXTURES = path.join(__dirname, '..', 'fixtures');

export const TIGERA_OPERATOR = readFileSync(path.join(FIXTURES, 'manifests', 'tigera-operator.yaml'), 'utf8');
export const DEVICE_PLUGIN = readFileSync(path.join(FIXTURES, 'manifests', 'nvidia-device-plugin.yml'), 'utf8');

export async function runMirroredSeedLab(): Promise<{ config: AgentConfig; scenario: Scenario }> {
  const config = pinnedToFixtures(compileAgentConfig(loadProfile(path.join(FIXTURES, 'profiles', 'seed-lab-aliyun.yaml'), { dir: path.resolve(__dirname, '..', '..', 'profiles') })));
  const scenario = await runScenario({
    config,
    node: fixture<NodeConfig>('node-control-plane'),
    gpu: true,
    prepare(machine) {
      machine.publishDownload(config.cni.manifests[0]!.url, TIGERA_OPERATOR);
      machine.publishDownload(config.gpu!.devicePlugin!.manifests[0]!.url, DEVICE_PLUGIN);
    },
  });
  return { config, scenario };
}

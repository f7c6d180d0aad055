/**
 * What `labimg serve` hands PXE machines: each machine's folder rendered from its group's profile, role and
 * pool, the same renderers `labimg build` uses for its pxe/ folder. Profiles are compiled once, at start, so a
 * broken one stops the endpoint before any machine boots rather than when one asks.
 */
import type { PxeCatalog, PxeMachine, PxeRequestContext } from '../contract/pxe-catalog';
import { nodeConfigFor, secretsFor } from './build';
import { compileAgentConfig, nodeRuntimeOf } from './compile';
import { loadProfile } from './profiles';
import type { PxeGroups } from './pxe-groups';
import {
  installFinishedFor,
  netInstallOf,
  pxeBootAssets,
  pxeConfigFile,
  pxeNodeFiles,
  pxeNodeUrl,
  renderIpxeChainScript,
  renderIpxeLocalBoot,
  renderPxeFile,
  type PxeAsset,
  type PxeNodeFile,
  type PxeNodeInputs,
} from './render/pxe';

type CompiledProfile = Pick<PxeNodeInputs, 'agentConfig' | 'nodeRuntime' | 'image'>;

export interface PxeCatalogOptions {
  groups: PxeGroups;
  profilesDir: string;
  agentBundle: Buffer;
  assetsDir?: string;
}

export function pxeCatalog(options: PxeCatalogOptions): PxeCatalog {
  const byMac = new Map(options.groups.machines.map((machine) => [machine.mac, machine]));
  const compiled = new Map<string, CompiledProfile>();
  for (const name of new Set(options.groups.machines.map((machine) => machine.profile))) {
    const profile = loadProfile(name, { dir: options.profilesDir });
    const agentConfig = compileAgentConfig(profile);
    compiled.set(name, { agentConfig, nodeRuntime: nodeRuntimeOf(profile), image: netInstallOf(name, agentConfig.os, profile.image) });
  }

  async function nodeFile(machine: PxeMachine, name: string, context: PxeRequestContext): Promise<Buffer | undefined> {
    const profile = compiled.get(machine.profile) as CompiledProfile;
    const os = profile.agentConfig.os;
    const files: readonly string[] = pxeNodeFiles(os);
    if (!files.includes(name)) return undefined;
    // Only the installer's config carries the node's config, and with a pool its token: minted for it alone.
    // The same token says, at the end of the install, that it has finished.
    const token = name === pxeConfigFile(os) && machine.pool !== undefined ? await context.enrollmentToken() : undefined;
    const enrollment = token !== undefined && machine.pool !== undefined ? { ...context.endpoint, pool: machine.pool, tokens: { [machine.role]: token } } : undefined;
    const inputs: PxeNodeInputs = {
      ...profile,
      node: { ...nodeConfigFor(machine.role, undefined, enrollment), nodeName: machine.node },
      secrets: secretsFor(machine.role, undefined, enrollment),
      agentBundle: options.agentBundle,
      sshAuthorizedKeys: options.groups.sshAuthorizedKeys,
      pxeBase: context.pxeBase,
      nodeUrl: pxeNodeUrl(context.pxeBase, machine.mac),
      ...(token !== undefined ? { installFinished: installFinishedFor(context.pxeBase, machine.mac, token) } : {}),
    };
    return renderPxeFile(inputs, name as PxeNodeFile).content;
  }

  return {
    machine: (mac) => byMac.get(mac),
    chainScript: renderIpxeChainScript,
    localBootScript: renderIpxeLocalBoot,
    nodeFile,
    ...(options.assetsDir !== undefined ? { assetsDir: options.assetsDir } : {}),
  };
}

/**
 * The files /pxe/assets/ must hold for the group file's machines, each with the profiles that need it: the
 * installer kernel and initrd iPXE fetches there over plain HTTP (render/pxe/layout.ts).
 */
export function pxeGroupAssets(groups: PxeGroups, profilesDir: string): Array<{ asset: PxeAsset; profiles: string[] }> {
  const byPath = new Map<string, { asset: PxeAsset; profiles: string[] }>();
  for (const name of new Set(groups.machines.map((machine) => machine.profile))) {
    const profile = loadProfile(name, { dir: profilesDir });
    const { netInstall } = netInstallOf(name, compileAgentConfig(profile).os, profile.image);
    const { kernel, initrd } = pxeBootAssets(name, netInstall);
    for (const asset of [kernel, initrd]) {
      const entry = byPath.get(asset.path) ?? { asset, profiles: [] };
      entry.profiles.push(name);
      byPath.set(asset.path, entry);
    }
  }
  return [...byPath.values()];
}

/**
 * PXE delivery: one node folder's files, for `labimg serve` (a folder per MAC address) and for a build's
 * pxe/ folder (a folder per role). See layout.ts for the URLs.
 */
import type { OsSpec } from '../../../contract/agent-config';
import { networkInstallerOf } from '../../../contract/os-families';
import type { ImageSources } from '../../profiles/types';
import { carrierMode } from '../node-files';
import { textFile, type RenderedFile } from '../types';
import { renderAutoinstallUserData, renderNoCloudMetaData } from './autoinstall';
import { renderFlatcarPxeIgnition } from './flatcar';
import { bootFilesOf, renderIpxeScript } from './ipxe';
import { renderKickstart } from './kickstart';
import { PXE_NODE_FILES, type PxeNodeFile } from './layout';
import { preseedHostname, renderPreseed, renderPreseedTargetScript } from './preseed';
import type { InstallInputs, NetInstall } from './types';

export { renderAutoinstallTargetScript, renderAutoinstallUserData, renderNoCloudMetaData } from './autoinstall';
export { bootFilesOf, INITRD_NAME, renderIpxeChainScript, renderIpxeLocalBoot, renderIpxeScript } from './ipxe';
export { FLATCAR_INSTALL_UNIT, FLATCAR_NODE_IGNITION_PATH, renderFlatcarPxeIgnition } from './flatcar';
export { renderKickstart, renderKickstartPost } from './kickstart';
export { PRESEED_SCRIPT_PATH, preseedMirror, renderPreseed, renderPreseedTargetScript } from './preseed';
export { installFinishedFor, type InstallFinished } from './install-finished';
export { isAuthorizedKeyLine } from './operator';
export {
  downloadAssetPath,
  endpointPxeBase,
  IPXE_BOOT_MAC,
  isoAssetFolder,
  macFolderName,
  PXE_CHAIN_FILE,
  PXE_NODE_FILES,
  pxeAssetUrl,
  pxeBase,
  pxeBootAssets,
  pxeNodeUrl,
  type PxeAsset,
  type PxeBootAssets,
  type PxeNodeFile,
} from './layout';
export type { BootFiles, InstallInputs, NetInstall } from './types';

export interface PxeNodeInputs extends InstallInputs {
  /** The PXE base URL (layout.ts): where assets/ lives. */
  pxeBase: string;
  /** This node's folder, ending in "/": pxeNodeUrl(pxeBase, mac or role). */
  nodeUrl: string;
}

/**
 * Why a profile cannot be installed over the network, or undefined when it can: it must name a network
 * install, and its distro's installer must take a config labimg writes (contract/os-families.ts).
 */
export function pxeUnavailable(os: OsSpec, image: ImageSources | undefined): string | undefined {
  if (!image?.netInstall) return 'it names no network install (image.netInstall)';
  const installer = networkInstallerOf(os);
  return installer.kind === 'none' ? installer.why : undefined;
}

/** The profile's network install, or an error saying why there is none. */
export function netInstallOf(profile: string, os: OsSpec, image: ImageSources | undefined): { sshUsername: string; netInstall: NetInstall } {
  const why = pxeUnavailable(os, image);
  if (why !== undefined || !image?.netInstall) throw new Error(`profile ${profile} cannot be installed over the network: ${why ?? ''}`);
  return { sshUsername: image.sshUsername, netInstall: image.netInstall };
}

/**
 * The installer's files of a node folder, the one that carries the node's config first: kickstart.cfg, a
 * NoCloud seed for autoinstall, the late_command's script and the preseed for debian-installer (a debconf
 * value is one line, so the agent cannot travel in the preseed), or the Ignition of Flatcar's PXE image.
 */
export function installerFiles(os: OsSpec): Array<Exclude<PxeNodeFile, 'boot.ipxe'>> {
  const installer = networkInstallerOf(os);
  switch (installer.kind) {
    case 'kickstart':
      return [PXE_NODE_FILES.kickstart];
    case 'autoinstall':
      return [PXE_NODE_FILES.userData, PXE_NODE_FILES.metaData];
    case 'preseed':
      return [PXE_NODE_FILES.installScript, PXE_NODE_FILES.preseed];
    case 'ignition':
      return [PXE_NODE_FILES.ignition];
    case 'none':
      throw new Error(`${os.id} ${os.versionId} cannot be installed over the network: ${installer.why}`);
  }
}

/** A node folder's files, in order: the install script, then the installer's config. */
export function pxeNodeFiles(os: OsSpec): PxeNodeFile[] {
  return [PXE_NODE_FILES.ipxe, ...installerFiles(os)];
}

/** The one file of a node folder that carries the node's config, and with it any secrets. */
export function pxeConfigFile(os: OsSpec): PxeNodeFile {
  return installerFiles(os)[0] as PxeNodeFile;
}

/**
 * One of the installer's config files; the one that carries the node's config is 0600 when that holds
 * secrets. They name no URL of the PXE base, so a build writes them without one.
 */
export function renderInstallerFile(inputs: InstallInputs, name: Exclude<PxeNodeFile, 'boot.ipxe'>): RenderedFile {
  const mode = carrierMode(inputs);
  switch (name) {
    case PXE_NODE_FILES.kickstart:
      return textFile(name, renderKickstart(inputs), mode);
    case PXE_NODE_FILES.userData:
      return textFile(name, renderAutoinstallUserData(inputs), mode);
    case PXE_NODE_FILES.metaData:
      return textFile(name, renderNoCloudMetaData());
    case PXE_NODE_FILES.installScript:
      return textFile(name, renderPreseedTargetScript(inputs), mode);
    case PXE_NODE_FILES.preseed:
      return textFile(name, renderPreseed(inputs));
    case PXE_NODE_FILES.ignition:
      return textFile(name, renderFlatcarPxeIgnition(inputs), mode);
  }
}

/** One file of a node folder; boot.ipxe, meta-data and preseed.cfg never carry secrets. */
export function renderPxeFile(inputs: PxeNodeInputs, name: PxeNodeFile): RenderedFile {
  if (name !== PXE_NODE_FILES.ipxe) return renderInstallerFile(inputs, name);
  const { agentConfig, image } = inputs;
  const script = renderIpxeScript({
    os: agentConfig.os,
    profile: agentConfig.profile,
    boot: bootFilesOf(agentConfig.profile, image.netInstall, inputs.pxeBase),
    netInstall: image.netInstall,
    nodeUrl: inputs.nodeUrl,
    ...(networkInstallerOf(agentConfig.os).kind === 'preseed' ? { host: preseedHostname(inputs) } : {}),
  });
  return textFile(name, script);
}

/** A whole node folder. */
export function renderPxeNode(inputs: PxeNodeInputs): RenderedFile[] {
  return pxeNodeFiles(inputs.agentConfig.os).map((name) => renderPxeFile(inputs, name));
}

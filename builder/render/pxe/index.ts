/**
 * PXE delivery: what `labimg serve` hands one machine, chosen by its MAC address. See layout.ts for the URLs.
 */
import { textFile, type RenderedFile } from '../types';
import { renderAutoinstallUserData, renderNoCloudMetaData } from './autoinstall';
import { bootFilesOf, renderIpxeScript } from './ipxe';
import { renderKickstart } from './kickstart';
import { PXE_NODE_FILES } from './layout';
import { hasSecrets } from './node-files';
import type { BootFiles, InstallInputs } from './types';

export { renderAutoinstallTargetScript, renderAutoinstallUserData, renderNoCloudMetaData } from './autoinstall';
export { bootFilesOf, INITRD_NAME, renderIpxeChainScript, renderIpxeLocalBoot, renderIpxeScript } from './ipxe';
export { renderKickstart, renderKickstartPost } from './kickstart';
export { KICKSTART_REFERENCES, RHEL7_KICKSTART, RHEL9_KICKSTART, type KickstartReference } from './kickstart-reference';
export { IPXE_BOOT_MAC, macFolderName, PXE_NODE_FILES, pxeNodeUrl } from './layout';
export type { BootFiles, InstallInputs, NetInstall } from './types';

export interface PxeNodeInputs extends InstallInputs {
  /** This node's folder, ending in "/": pxeNodeUrl(endpoint, mac). */
  nodeUrl: string;
  /** The installer kernel and initrd extracted from the ISO, for profiles that name none (Ubuntu). */
  extractedBoot?: BootFiles;
}

/**
 * One node's PXE folder: boot.ipxe, and kickstart.cfg (RHEL family) or user-data and meta-data (Ubuntu).
 * The file that carries the node's secrets is 0600; boot.ipxe and meta-data never carry any.
 */
export function renderPxeNode(inputs: PxeNodeInputs): RenderedFile[] {
  const { agentConfig, image } = inputs;
  const secretMode = hasSecrets(inputs.secrets) ? 0o600 : 0o644;
  const ipxe = renderIpxeScript({
    os: agentConfig.os,
    profile: agentConfig.profile,
    boot: bootFilesOf(agentConfig.profile, image.netInstall, inputs.extractedBoot),
    netInstall: image.netInstall,
    nodeUrl: inputs.nodeUrl,
  });
  const files = [textFile(PXE_NODE_FILES.ipxe, ipxe)];
  if (agentConfig.os.family === 'rhel') {
    files.push(textFile(PXE_NODE_FILES.kickstart, renderKickstart(inputs), secretMode));
  } else {
    files.push(textFile(PXE_NODE_FILES.userData, renderAutoinstallUserData(inputs), secretMode), textFile(PXE_NODE_FILES.metaData, renderNoCloudMetaData()));
  }
  return files;
}

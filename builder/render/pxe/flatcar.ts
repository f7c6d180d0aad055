/**
 * Flatcar over PXE. Flatcar's PXE image "will run Flatcar Container Linux completely out of RAM" (its root is
 * tmpfs), needs 3 GB of RAM, cannot update itself, and keeps nothing across a reboot; the same docs offer
 * installing to disk from it with flatcar-install, which the PXE image carries and which by default installs
 * the version and channel that was PXE-booted (flatcar/flatcar-docs docs/installing/bare-metal/
 * booting-with-ipxe.md, booting-with-pxe.md, installing-to-disk.md at e0411428c3, 2023-10-26; read 2026-12-06).
 *
 * A Kubernetes node that forgets its kubelet credentials and its enrollment on every reboot is no node, and
 * the endpoint hands a machine its config (with its one-use token) only until it has enrolled. So labimg
 * installs to disk: the Ignition served to the PXE image carries the node's own Ignition (the one a build
 * writes as ignition-ROLE.json) and a unit that runs flatcar-install with it, then reboots. The installed
 * system's first boot applies the node's Ignition, the agent enrolls, and from then on the endpoint's
 * boot.ipxe exits to the disk, as for every other installer.
 */
import { gzipStable } from '../gzip';
import { IGNITION_SPEC_VERSION, renderIgnitionConfig, type IgnitionConfig } from '../ignition';
import { toJsonFile } from '../node-files';
import { installFinishedCommands } from './install-finished';
import type { InstallInputs } from './types';

/** Where the PXE system keeps the node's Ignition until flatcar-install copies it to the disk. */
export const FLATCAR_NODE_IGNITION_PATH = '/opt/labimg-install/node.ign';

/**
 * The script that tells `labimg serve` the install has finished (install-finished.ts): a file of its own, 0700,
 * since it holds the install's token and a unit file is world-readable.
 */
export const FLATCAR_INSTALL_FINISHED_PATH = '/opt/labimg-install/finished.sh';

/** The unit that installs Flatcar to disk; Ignition enables it in the PXE system. */
export const FLATCAR_INSTALL_UNIT = 'labimg-flatcar-install.service';

/**
 * flatcar-install's options (bin/flatcar-install, github.com/flatcar/init at 0765e955ac, read 2026-12-06):
 * -s installs to the smallest unmounted disk of more than 10 GB (EXPERIMENTAL; its usage recommends -e or -I,
 * and -e 7 leaves out loop devices, as it suggests), -i puts the Ignition config on the disk's OEM partition
 * for the installed system's first boot. Without -V or -C it installs the release it runs (VERSION_ID and
 * GROUP from /etc/os-release and update.conf), so the disk gets the release the profile's PXE files are of.
 */
function installUnit(tellEndpoint: boolean): string {
  const finished = tellEndpoint ? `ExecStart=${FLATCAR_INSTALL_FINISHED_PATH}\n` : '';
  return `[Unit]
Description=labimg: install Flatcar to disk with this node's Ignition config, then boot it
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
ExecStart=/usr/bin/flatcar-install -s -e 7 -i ${FLATCAR_NODE_IGNITION_PATH}
${finished}ExecStartPost=/usr/bin/systemctl reboot

[Install]
WantedBy=multi-user.target
`;
}

/**
 * ignition.json of a Flatcar node folder: the Ignition config (spec 3.3.0) the PXE image applies on its boot
 * (flatcar.first_boot=1 ignition.config.url=…). It carries the node's Ignition, secrets included, gzipped, as
 * a 0600 file, so it is as secret as they are: 0600 when it holds them, served to that node only.
 */
export function renderFlatcarPxeIgnition(inputs: InstallInputs): string {
  const node = Buffer.from(renderIgnitionConfig(inputs), 'utf8');
  const config: IgnitionConfig = {
    ignition: { version: IGNITION_SPEC_VERSION },
    storage: {
      files: [
        { path: FLATCAR_NODE_IGNITION_PATH, mode: 0o600, overwrite: true, contents: { compression: 'gzip', source: `data:;base64,${gzipStable(node).toString('base64')}` } },
        ...(inputs.installFinished
          ? [{ path: FLATCAR_INSTALL_FINISHED_PATH, mode: 0o700, overwrite: true as const, contents: { source: `data:;base64,${Buffer.from(`#!/bin/sh\n${installFinishedCommands(inputs.installFinished).join('\n')}\n`).toString('base64')}` } }]
          : []),
      ],
    },
    systemd: { units: [{ name: FLATCAR_INSTALL_UNIT, enabled: true, contents: installUnit(inputs.installFinished !== undefined) }] },
  };
  return toJsonFile(config);
}

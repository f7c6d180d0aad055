/**
 * A node name from /etc/machine-id, for nodes named neither by their hostname nor by a cloud's instance id.
 *
 * machine-id(5) asks that the id itself never be exposed: "the machine ID or any part of it must not be used
 * directly. Instead the machine ID should be hashed with a cryptographic, keyed hash function, using a fixed,
 * application-specific key" (https://www.freedesktop.org/software/systemd/man/latest/machine-id.html, read
 * 2026-12-06). systemd's own way to do that, sd_id128_get_machine_app_specific(3)
 * (https://www.freedesktop.org/software/systemd/man/latest/sd_id128_get_machine_app_specific.html): HMAC-SHA256
 * keyed with the machine id over the application id, its first 16 bytes made a version 4 UUID. The name is
 * "node-" and the first 16 hex digits of that id, so an operator can tell which machine a node is with
 * `systemd-id128 machine-id --app-specific=MACHINE_NAME_APP_ID` (the tests check it against that command).
 *
 * The id is unique per installation: an image's bake empties /etc/machine-id (packer/scripts/cleanup.sh), so
 * each instance made from it gets its own at first boot.
 */
import { createHmac } from 'crypto';
import { MACHINE_NAME_APP_ID } from '../contract/agent-config';
import type { HostFiles } from './host/host';

const MACHINE_ID_FILE = '/etc/machine-id';

export async function machineIdName(host: Pick<HostFiles, 'readFile'>): Promise<string> {
  const machineId = (await host.readFile(MACHINE_ID_FILE))?.trim() ?? '';
  // machine-id(5): 32 lower-case hexadecimal characters; an empty file means systemd has not set it up yet.
  if (!/^[0-9a-f]{32}$/.test(machineId)) {
    throw new Error(`${MACHINE_ID_FILE} holds no machine id`);
  }
  const id = createHmac('sha256', Buffer.from(machineId, 'hex')).update(Buffer.from(MACHINE_NAME_APP_ID, 'hex')).digest();
  // The UUID version 4 marks sd_id128_get_machine_app_specific sets; only the version nibble falls in the name.
  id.writeUInt8((id.readUInt8(6) & 0x0f) | 0x40, 6);
  return `node-${id.subarray(0, 8).toString('hex')}`;
}

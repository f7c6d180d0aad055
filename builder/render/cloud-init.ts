/** The node files as `#cloud-config` user-data: cloud-init's write_files, then runcmd starts the agent's unit. */
import { DELIVERY_PATHS, PATHS } from '../../contract/node-paths';
import { renderAgentFetcher } from './agent-fetcher';
import { gzipStable } from './gzip';
import { dumpWithGzipBase64 } from './yaml-gzip-base64';
import { isRemote, nodeFiles, unitName, type NodeFile, type NodeInputs, type RemoteContent } from './node-files';

/** One entry of cloud-init's write_files module (cc_write_files). */
interface WriteFile {
  path: string;
  permissions: string;
  owner: string;
  encoding?: 'gzip+base64';
  content: string;
}

interface CloudConfig {
  write_files: WriteFile[];
  runcmd: string[][];
}

const octal = (mode: number): string => `0${mode.toString(8).padStart(3, '0')}`;

/**
 * A file as write_files writes it. Compressible files travel gzip+base64: gzipStable leaves the header mtime at
 * 0, so the same inputs always give byte-identical user-data. cloud-init cannot fetch a file and check its
 * hash, so a remote file (the agent of a stub) becomes a script that does, run by a drop-in of the agent's
 * unit before the agent starts.
 */
function writeFiles(file: NodeFile): WriteFile[] {
  const entry = { path: file.path, permissions: octal(file.mode), owner: 'root:root' };
  if (isRemote(file.content)) {
    if (file.path !== PATHS.agentBundle) throw new Error(`cloud-init cannot fetch ${file.path}; only the agent has a fetcher`);
    // A drop-in, so the unit itself stays the one every other path installs; ExecStartPre also runs on every
    // later boot, where the script finds the bundle in place and does nothing.
    return [
      { path: DELIVERY_PATHS.agentFetcher, permissions: '0755', owner: 'root:root', content: renderAgentFetcher(file.content) },
      { path: DELIVERY_PATHS.agentFetcherDropIn, permissions: '0644', owner: 'root:root', content: `[Service]\nExecStartPre=${DELIVERY_PATHS.agentFetcher}\n` },
    ];
  }
  if (file.compress) return [{ ...entry, encoding: 'gzip+base64', content: gzipStable(file.content).toString('base64') }];
  return [{ ...entry, content: file.content.toString('utf8') }];
}

/**
 * #cloud-config user-data that installs the agent, its config and unit, and starts it. With `agent`, the
 * agent stays out (a stub, for clouds whose limit it would pass: EC2 and Alibaba Cloud take 16 KB) and is fetched from
 * there and checked by its sha256 before the agent's unit runs it.
 */
export function renderCloudInitUserData(inputs: NodeInputs, agent?: RemoteContent): string {
  // What the node fetches itself (install-node.sh the Node tarball) cloud-init leaves to it.
  const files = nodeFiles(inputs, agent).filter((file) => !file.optional);
  const units = files.filter((file) => file.enable).map(unitName);
  const config: CloudConfig = {
    write_files: files.flatMap(writeFiles),
    runcmd: [
      ['systemctl', 'daemon-reload'],
      ...units.map((unit) => ['systemctl', 'enable', unit]),
      // --no-block: the unit is ordered after cloud-final, which is running this very command.
      ...units.map((unit) => ['systemctl', 'start', '--no-block', unit]),
    ],
  };
  return `#cloud-config\n${dumpWithGzipBase64(config, { noRefs: true })}`;
}

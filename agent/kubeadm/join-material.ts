/**
 * Worker join material: the API endpoint and CA hashes from node.json, the bootstrap token from secrets.json.
 * When something is missing or malformed the error says exactly what to put where, because the person
 * reading it is at a node console with `kubeadm init`'s output in another window.
 */
import { PATHS } from '../../contract/node-paths';
import type { NodeConfig, NodeSecrets } from '../../contract/agent-config';
import { BOOTSTRAP_TOKEN, CA_CERT_HASH } from '../../contract/token-formats';
import type { JoinMaterial } from './documents';

export class MissingJoinMaterial extends Error {
  constructor(problems: string[]) {
    super(
      [
        'cannot join the cluster: the join material is incomplete.',
        ...problems.map((p) => `  - ${p}`),
        `Put the endpoint and CA hash in ${PATHS.nodeConfig}:`,
        '  "join": {"apiServerEndpoint": "10.0.0.10:6443", "caCertHashes": ["sha256:<64 hex digits>"]}',
        `and the token in ${PATHS.nodeSecrets} (mode 0600):`,
        '  {"bootstrapToken": "abcdef.0123456789abcdef"}',
        'On the control plane, `kubeadm token create --print-join-command` prints all three.',
      ].join('\n'),
    );
    this.name = 'MissingJoinMaterial';
  }
}

export function joinMaterial(node: NodeConfig, secrets: NodeSecrets): JoinMaterial {
  const problems: string[] = [];
  const join = node.join;
  if (!join?.apiServerEndpoint) problems.push(`${PATHS.nodeConfig} has no join.apiServerEndpoint`);
  const hashes = join?.caCertHashes ?? [];
  if (hashes.length === 0) problems.push(`${PATHS.nodeConfig} has no join.caCertHashes (the agent never skips CA verification)`);
  for (const hash of hashes) if (!CA_CERT_HASH.test(hash)) problems.push(`join.caCertHashes entry "${hash}" is not sha256:<64 lowercase hex digits>`);
  const token = secrets.bootstrapToken;
  // The token's value is never echoed back, not even when it is malformed.
  if (!token) problems.push(`${PATHS.nodeSecrets} has no bootstrapToken`);
  else if (!BOOTSTRAP_TOKEN.test(token)) problems.push(`the bootstrapToken in ${PATHS.nodeSecrets} is not of the form [a-z0-9]{6}.[a-z0-9]{16}`);
  if (problems.length > 0 || !join || !token) throw new MissingJoinMaterial(problems);
  return { token, apiServerEndpoint: join.apiServerEndpoint, caCertHashes: hashes };
}

/**
 * What the pool test needs beside the other e2e tests' helpers: the network its VMs share (qemu's multicast
 * socket, through `labimg boot --lan`), checkers that hold the control plane up until the test lets it go and
 * that print which token a worker joined with, and a watch on the join material the endpoint holds.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { Registry } from '../../endpoint/registry';
import { FileStore } from '../../endpoint/store/file-store';
import { checkerScript } from './checker';

/** The segment the pool's VMs share; the control plane is .10, workers from .11. */
export const LAN_NETWORK = '192.168.76.0/24';
export const lanAddress = (host: number): string => `192.168.76.${host}/24`;
export const CONTROL_PLANE_LAN_IP = '192.168.76.10';

/**
 * A multicast group of this run's own: another run on this host (or another lab) on the same group and port
 * would put its VMs on this segment.
 */
export function lanGroup(): string {
  return `230.0.76.1:${40_000 + (process.pid % 20_000)}`;
}

/** The guest port the control plane's checker waits on before it reports and powers off. */
export const RELEASE_PORT_IN_GUEST = 7070;

/**
 * The checker, held: before anything else it waits for one connection on RELEASE_PORT_IN_GUEST (the test
 * reaches it through `--host-forward`) and answers "released"; only then does it wait for the agent, report and
 * power off. So the control plane, its API server and its refresh timer stay up while the workers join, and it
 * goes down when the test says, not when its own agent is done.
 */
export function heldChecker(): string {
  // No backslash escapes in it: systemd unescapes them in Exec lines.
  const listener = `require('net').createServer((s) => s.end('released', () => process.exit(0))).listen(${RELEASE_PORT_IN_GUEST})`;
  return checkerScript([
    'mkdir -p /etc/systemd/system/labimg-e2e-check.service.d',
    "cat > /etc/systemd/system/labimg-e2e-check.service.d/hold.conf <<'LABIMG_E2E_HOLD'",
    '[Service]',
    `ExecStartPre=/usr/bin/node -e "${listener}"`,
    'TimeoutStartSec=infinity',
    'LABIMG_E2E_HOLD',
  ]);
}

/** Lets the held control plane go: connects until the guest answers (slirp accepts before the guest listens). */
export async function release(hostPort: number, timeoutMs = 5 * 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const once = () =>
    new Promise<boolean>((resolve) => {
      const socket = connect(hostPort, '127.0.0.1');
      let got = '';
      socket.on('data', (chunk) => (got += chunk));
      socket.on('error', () => resolve(false));
      socket.on('close', () => resolve(got.startsWith('released')));
      socket.setTimeout(10_000, () => socket.destroy());
    });
  while (!(await once())) {
    if (Date.now() > deadline) throw new Error(`the control plane never answered on 127.0.0.1:${hostPort}`);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
}

/**
 * The checker of a worker: also prints the ID of the bootstrap token it joined with (the public half; the
 * secret after the dot stays in the guest), from the JoinConfiguration the kubeadm stand-in keeps, once the
 * agent's unit has finished. It waits for that itself, as the checker does: the checker's unit is started by
 * the user script before the agent's unit is queued, so its After= orders nothing then.
 */
export function workerChecker(): string {
  return checkerScript([
    "cat > /usr/local/sbin/labimg-e2e-token-id.sh <<'LABIMG_E2E_TOKEN'",
    '#!/bin/sh',
    'until state=$(systemctl show --property ActiveState --value labimg-agent.service); [ "$state" = active ] || [ "$state" = failed ]; do sleep 2; done',
    // The agent writes the JoinConfiguration as JSON-style YAML: "token": "abcdef.<secret>".
    `id=$(sed -nE 's/^ *"?token"?: *"?([a-z0-9]{6})\\..*/\\1/p' /var/lib/labimg-e2e/join-config.yaml 2>/dev/null | head -n 1)`,
    'echo "LABIMG-E2E-JOIN-TOKEN-ID ${id:-none}" > /dev/console',
    'LABIMG_E2E_TOKEN',
    'chmod 0755 /usr/local/sbin/labimg-e2e-token-id.sh',
    'mkdir -p /etc/systemd/system/labimg-e2e-check.service.d',
    "printf '[Service]\\nExecStartPre=-/usr/local/sbin/labimg-e2e-token-id.sh\\nTimeoutStartSec=infinity\\n' > /etc/systemd/system/labimg-e2e-check.service.d/token-id.conf",
  ]);
}

/** The token ID a worker's checker printed, from its console log. */
export function joinedTokenId(serialLog: string): string | undefined {
  return /LABIMG-E2E-JOIN-TOKEN-ID ([a-z0-9]{6}|none)/.exec(readFileSync(serialLog, 'utf8'))?.[1];
}

/**
 * The pin of another cluster's CA: kubeadm's sha256 of a public key's DER SubjectPublicKeyInfo, of a key that
 * is not this cluster's. What an operator pastes from the wrong `kubeadm init` output, or an attacker's pin.
 */
export function otherClusterCaHash(): string {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return `sha256:${createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex')}`;
}

export interface SeenMaterial {
  /** The token's ID (the part before the dot), never the secret. */
  tokenId: string;
  apiServerEndpoint: string;
  caCertHashes: string[];
  tokenExpires: string;
  /** When the watch first saw this token at the endpoint. */
  seenAt: number;
}

/** Each distinct join material the endpoint's store holds for `pool`, as it changes; polled every 2 s. */
export class JoinMaterialWatch {
  readonly seen: SeenMaterial[] = [];
  readonly #registry: Registry;
  readonly #timer: NodeJS.Timeout;
  /** The current token itself, for the one worker the test hands join material to by hand. */
  #currentToken: string | undefined;

  constructor(data: string, readonly pool: string) {
    this.#registry = new Registry(new FileStore(data));
    this.#timer = setInterval(() => void this.poll(), 2_000);
  }

  async poll(): Promise<void> {
    let material: Awaited<ReturnType<Registry['joinMaterial']>>;
    try {
      material = await this.#registry.joinMaterial(this.pool);
    } catch {
      return; // a write in progress: the next poll reads it
    }
    if (!material) return;
    this.#currentToken = material.token;
    const tokenId = material.token.split('.')[0] as string;
    if (this.seen.at(-1)?.tokenId === tokenId) return;
    this.seen.push({ tokenId, apiServerEndpoint: material.apiServerEndpoint, caCertHashes: material.caCertHashes, tokenExpires: material.tokenExpires, seenAt: Date.now() });
  }

  get currentToken(): string | undefined {
    return this.#currentToken;
  }

  /** Waits until the watch has seen `count` tokens, or `gaveUp` says to stop waiting (the VM is gone). */
  async until(count: number, timeoutMs: number, gaveUp: () => boolean = () => false): Promise<SeenMaterial> {
    const deadline = Date.now() + timeoutMs;
    while (this.seen.length < count) {
      if (Date.now() > deadline || gaveUp()) throw new Error(`the endpoint had ${this.seen.length} of ${count} bootstrap tokens for pool ${this.pool} when the wait ended`);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    return this.seen[count - 1] as SeenMaterial;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

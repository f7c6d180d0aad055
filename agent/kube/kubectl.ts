/**
 * kubectl as the control plane's admin, with the kubeconfig passed explicitly: the agent runs from systemd
 * without a HOME, so kubectl's default lookup would find nothing.
 */
import { CommandFailed, Host } from '../host/host';
import { ADMIN_KUBECONFIG } from '../kubeadm/files';

export function kubectlArgv(host: Host, args: string[]): string[] {
  return ['kubectl', '--kubeconfig', host.hostPath(ADMIN_KUBECONFIG), ...args];
}

/** Every object of the manifest (a file or URL) exists in the cluster. */
export async function manifestPresent(host: Host, source: string): Promise<boolean> {
  return (await host.query(kubectlArgv(host, ['get', '-f', source]), { timeoutMs: 120_000 })).code === 0;
}

export interface CreateOptions {
  attempts?: number;
  delayMs?: number;
}

/**
 * `kubectl create -f` (not apply: Calico's CRDs are too big for apply's annotation). After a crash part of a
 * manifest may already exist; kubectl then creates the rest and reports AlreadyExists for the others, which
 * is success for us. Other failures are retried: right after the operator manifest, its CRDs may not be
 * served yet ("no matches for kind").
 */
export async function createManifest(host: Host, source: string, options: CreateOptions = {}): Promise<void> {
  const attempts = options.attempts ?? 6;
  for (let attempt = 1; ; attempt++) {
    try {
      await host.run(kubectlArgv(host, ['create', '-f', source]), { timeoutMs: 300_000 });
      return;
    } catch (err) {
      if (!(err instanceof CommandFailed)) throw err;
      if (onlyAlreadyExists(err.result.stderr)) return;
      if (attempt >= attempts) throw err;
      await new Promise((resolve) => setTimeout(resolve, options.delayMs ?? 10_000));
    }
  }
}

function onlyAlreadyExists(stderr: string): boolean {
  const errors = stderr.split('\n').filter((line) => line.trim() !== '');
  return errors.length > 0 && errors.every((line) => /AlreadyExists|already exists/.test(line));
}

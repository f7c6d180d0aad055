/**
 * kubectl as the control plane's admin, with the kubeconfig passed explicitly: the agent runs from systemd
 * without a HOME, so kubectl's default lookup would find nothing.
 */
import { CommandFailed, Host } from '../host/host';
import { ADMIN_KUBECONFIG } from '../kubeadm/files';
import { parseJsonSequence } from '../text/json-sequence';

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

export interface ManifestObjects {
  /** Every object kubectl read, in order: Lists flattened, the namespace set on namespaced objects. */
  objects: unknown[];
  /** kubectl's error for the first document it could not read or map; `objects` then holds those before it. */
  error?: string;
}

/**
 * The objects of a manifest as kubectl reads them, with nothing created: `kubectl create --dry-run=client
 * -o json` parses the YAML (or JSON) stream, flattens Lists, sets the namespace on namespaced objects and prints
 * each object where it would have sent it (k8s.io/kubectl pkg/cmd/create/create.go, RunCreate; read
 * 2026-12-05). It maps kinds through the API server as create does, so it reads a manifest exactly as the
 * create that follows will; and the agent needs no YAML parser of its own.
 */
export async function manifestObjects(host: Host, source: string): Promise<ManifestObjects> {
  const argv = kubectlArgv(host, ['create', '--dry-run=client', '-o', 'json', '-f', source]);
  const what = `kubectl create --dry-run=client -f ${source}`;
  // run, not query: a plan lists it among the commands the agent runs (a plan's host answers with no objects).
  try {
    return { objects: parseJsonSequence((await host.run(argv, { timeoutMs: 120_000 })).stdout, what) };
  } catch (err) {
    if (!(err instanceof CommandFailed)) throw err;
    const { stdout, stderr, code } = err.result;
    return { objects: parseJsonSequence(stdout, what), error: stderr.trim() || `kubectl exited with ${code}` };
  }
}

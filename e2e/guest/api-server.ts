/**
 * The one thing of the API server a joining node needs before it trusts anything: anonymous HTTPS GET of the
 * cluster-info ConfigMap in kube-public (kubeadm's clusterinfo phase grants system:anonymous `get` on it). It
 * serves the ConfigMap file the kubeadm stand-in keeps, read on every request, so a token that `kubeadm token
 * create` adds is signed at once, as the bootstrap signer would (after its resync); anything else is a 404
 * Status, as the API server answers an unknown path.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { CLUSTER_INFO_PATH } = require('../../test/fake-bin/lib/cluster-info.js') as { CLUSTER_INFO_PATH: string };

export interface ApiServerFiles {
  certFile: string;
  keyFile: string;
  configMapFile: string;
}

function notFound(path: string): string {
  return JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `the server could not find the requested resource (get ${path})`, reason: 'NotFound', code: 404 });
}

export function serveClusterInfo(files: ApiServerFiles, host: string, port: number): Promise<Server> {
  const server = createServer({ cert: readFileSync(files.certFile), key: readFileSync(files.keyFile) }, (request, response) => {
    const path = (request.url ?? '').split('?')[0] ?? '';
    if (request.method === 'GET' && path === CLUSTER_INFO_PATH) {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(readFileSync(files.configMapFile));
      return;
    }
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end(notFound(path));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

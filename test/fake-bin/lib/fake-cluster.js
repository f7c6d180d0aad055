'use strict';
/**
 * What the stand-ins' Kubernetes cluster holds that other machines see: the state a real control plane serves to
 * joining nodes (the cluster-info ConfigMap with its CA and its JWS signatures, one per bootstrap token; the
 * kubeadm-certs Secret that `upload-certs` writes). It lives in one directory shared by every machine of a
 * test's cluster, named by $LABIMG_FAKE_CLUSTER (the test helpers set it; machines launched from one image share
 * the image's). Each machine's own root stays private, as on real hosts.
 *
 * cluster.json: {
 *   endpoints: ["10.0.0.10:6443", ...]     where the API server answers (advertise address, controlPlaneEndpoint)
 *   caCert: "-----BEGIN CERTIFICATE-----"  the cluster CA init wrote (cluster-info's certificate-authority-data)
 *   tokens: ["abcdef.0123456789abcdef"]    bootstrap tokens: init's (configured or generated) and `token create`'s
 *   certificateKeys: ["<64 hex>"]          keys the kubeadm-certs Secret was encrypted with (`upload-certs`)
 *   server: "https://10.0.0.10:6443"       admin.conf's server, which cluster-info carries (default: endpoints[0])
 *   clusterInfo: { kind: "ConfigMap", ... } kube-public/cluster-info: data.kubeconfig (server, CA) and a
 *                                          jws-kubeconfig-<id> per token, re-signed on every change as the
 *                                          bootstrap signer keeps it (lib/cluster-info.js); joins verify it
 * }
 */
const fs = require('fs');
const path = require('path');
const { clusterInfoConfigMap, clusterInfoKubeconfig } = require('./cluster-info');

function clusterFile(dir) {
  return path.join(dir, 'cluster.json');
}

/** The cluster's state, or undefined when no control plane was initialised in it (or there is no cluster). */
function loadCluster(dir) {
  if (!dir) return undefined;
  try {
    return JSON.parse(fs.readFileSync(clusterFile(dir), 'utf8'));
  } catch (err) {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  }
}

function saveCluster(dir, cluster) {
  fs.mkdirSync(dir, { recursive: true });
  const temp = `${clusterFile(dir)}.${process.pid}.tmp`;
  fs.writeFileSync(temp, `${JSON.stringify(cluster, null, 2)}\n`);
  fs.renameSync(temp, clusterFile(dir));
}

/** The bootstrap signer's work: cluster-info for the cluster's CA and server, signed with every token. */
function signClusterInfo(cluster) {
  if (!cluster.caCert || cluster.endpoints.length === 0) return;
  const server = cluster.server || `https://${cluster.endpoints[0]}`;
  cluster.clusterInfo = clusterInfoConfigMap(clusterInfoKubeconfig(server, cluster.caCert), cluster.tokens.map((token) => ({ token })));
}

/** Applies `change` to the cluster's state (created empty if need be), re-signs cluster-info and saves it. */
function updateCluster(dir, change) {
  const cluster = loadCluster(dir) || { endpoints: [], caCert: undefined, tokens: [], certificateKeys: [] };
  change(cluster);
  signClusterInfo(cluster);
  saveCluster(dir, cluster);
  return cluster;
}

module.exports = { loadCluster, saveCluster, updateCluster };

/** Flags several commands share, declared once: yargs options, and how their values become typed inputs. */
import type { Argv } from 'yargs';
import { ROLES, type Role } from '../contract/agent-config';
import { MIRROR_PRESET_NAMES } from '../builder/mirrors/types';
import type { StoreOptions } from '../endpoint/store/open';
import type { AutoscalingFlags } from './inputs/autoscaling';
import type { EnrollmentFlags } from './inputs/enrollment';
import type { JoinFlags } from './inputs/join';
import type { ControlPlaneFlags } from './inputs/control-plane';
import { readEtcdConnection } from './inputs/etcd';

/** Options every command takes. */
export interface GlobalOptions {
  profiles: string;
}

export function mirrorOption<T>(y: Argv<T>) {
  return y.option('mirror', { choices: MIRROR_PRESET_NAMES, describe: "fetch everything from this mirror preset instead of the profile's `mirror` (labimg mirrors lists them)" });
}

export function roleOption<T>(y: Argv<T>) {
  return y.option('role', { choices: ROLES, default: 'control-plane' as Role, describe: 'what the node does in the cluster' });
}

export const joinOptions = {
  'join-api-server': { type: 'string', describe: 'worker join: API server HOST:PORT, as `kubeadm init` prints it' },
  'join-ca-cert-hash': { type: 'string', array: true, describe: 'worker join: sha256:<hex> CA public key hash' },
  'join-token-file': { type: 'string', describe: 'worker join: file holding the bootstrap token (never on the command line)' },
} as const;

export function joinFlagsOf(argv: { joinApiServer?: string; joinCaCertHash?: string[]; joinTokenFile?: string }): JoinFlags {
  return { joinApiServer: argv.joinApiServer, joinCaCertHash: argv.joinCaCertHash, joinTokenFile: argv.joinTokenFile };
}

export const controlPlaneOptions = {
  'advertise-network': {
    type: 'string',
    describe: "control plane: advertise the API server on the node's own IPv4 address in this network (CIDR such as 192.168.76.0/24), not the default route's: for nodes with a second NIC",
  },
  'bootstrap-token-ttl': {
    type: 'string',
    describe: 'control plane with an endpoint: how long each published bootstrap token lives (5m to 24h, default 2h); a new one is published at half its life',
  },
} as const;

export function controlPlaneFlagsOf(argv: { advertiseNetwork?: string; bootstrapTokenTtl?: string }): ControlPlaneFlags {
  return { advertiseNetwork: argv.advertiseNetwork, bootstrapTokenTtl: argv.bootstrapTokenTtl };
}

export const enrollmentOptions = {
  endpoint: { type: 'string', describe: 'join endpoint URL (https://HOST:PORT of `labimg serve`)' },
  'endpoint-ca-fingerprint': { type: 'string', describe: 'the endpoint CA fingerprint `labimg serve` prints (sha256:<hex>)' },
  pool: { type: 'string', describe: 'the pool the nodes enroll into' },
  'enrollment-token-file': { type: 'string', describe: "file holding the pool's worker enrollment token (never on the command line)" },
  'control-plane-token-file': {
    type: 'string',
    describe: 'file holding a control-plane enrollment token (`labimg pool token-create POOL --role control-plane`); without it no control-plane config is written',
  },
  identity: {
    type: 'string',
    describe: "aws or aliyun: workers enroll by their cloud's signed instance identity document instead of a token, so their user-data holds no secret (not with --enrollment-token-file)",
  },
} as const;

/** Only the enrollment flags of a command's argv (which holds every other flag too). */
export function enrollmentFlagsOf(argv: EnrollmentFlags): EnrollmentFlags {
  return {
    endpoint: argv.endpoint,
    endpointCaFingerprint: argv.endpointCaFingerprint,
    pool: argv.pool,
    enrollmentTokenFile: argv.enrollmentTokenFile,
    controlPlaneTokenFile: argv.controlPlaneTokenFile,
    identity: argv.identity,
  };
}

/** `labimg build --autoscaling`: a scaling group's files for the pool's workers (cli/inputs/autoscaling.ts). */
export const autoscalingOptions = {
  autoscaling: {
    type: 'string',
    describe: "aws or aliyun: also write autoscaling/, the scaling group's launch template (EC2) or scaling configuration (ESS) for the pool's workers, with the cluster autoscaler's tags",
  },
  'instance-type': { type: 'string', describe: 'with --autoscaling: the instance type the group launches (g4dn.xlarge, ecs.gn6i-c4g1.xlarge)' },
  'image-id': { type: 'string', describe: 'with --autoscaling: the image the group launches (an AMI, or an ECS image id); on AWS --packer gives the AMI it bakes instead' },
  'cluster-name': { type: 'string', describe: "with --autoscaling aws: the cluster name of the cluster autoscaler's auto-discovery tag (default: the pool's name, since a pool is one cluster)" },
  'gpus-per-instance': { type: 'number', describe: "with --autoscaling aws: the instance type's GPU count, for a type labimg's table does not know" },
} as const;

export function autoscalingFlagsOf(argv: { autoscaling?: string; instanceType?: string; imageId?: string; clusterName?: string; gpusPerInstance?: number }): AutoscalingFlags {
  return { autoscaling: argv.autoscaling, instanceType: argv.instanceType, imageId: argv.imageId, clusterName: argv.clusterName, gpusPerInstance: argv.gpusPerInstance };
}

/** Where the endpoint keeps its state: serve, pool, nodes, audit and ca work on the same store. */
export const storeOptions = {
  data: { type: 'string', default: 'labimg-endpoint', describe: 'data directory (file store; the CA lives in the store)' },
  etcd: { type: 'string', array: true, describe: 'etcd client URL(s): keep state in etcd so several replicas can serve one fleet' },
  'etcd-prefix': { type: 'string', default: 'labimg/', describe: 'key prefix in etcd' },
  'etcd-cacert': { type: 'string', describe: "with https:// --etcd (required then): PEM file of the CA that signed etcd's server certificate" },
  'etcd-cert': { type: 'string', describe: 'PEM file of the client certificate, for an etcd that requires one (--client-cert-auth)' },
  'etcd-key': { type: 'string', describe: "PEM file of the client certificate's private key (unencrypted)" },
  'etcd-user': { type: 'string', describe: "etcd user, for an etcd with authentication on (https:// only)" },
  'etcd-password-file': { type: 'string', describe: "file whose first line is --etcd-user's password (never on the command line)" },
} as const;

interface StoreArgv {
  data: string;
  etcd?: string[];
  'etcd-prefix': string;
  'etcd-cacert'?: string;
  'etcd-cert'?: string;
  'etcd-key'?: string;
  'etcd-user'?: string;
  'etcd-password-file'?: string;
}

/** Reads the etcd flags' files too (cli/inputs/etcd.ts), so a bad flag is refused before anything connects. */
export function storeOptionsOf(argv: StoreArgv): StoreOptions {
  const connection = readEtcdConnection({
    etcd: argv.etcd,
    etcdCacert: argv['etcd-cacert'],
    etcdCert: argv['etcd-cert'],
    etcdKey: argv['etcd-key'],
    etcdUser: argv['etcd-user'],
    etcdPasswordFile: argv['etcd-password-file'],
  });
  return { data: argv.data, etcd: argv.etcd, etcdPrefix: argv['etcd-prefix'], ...connection };
}

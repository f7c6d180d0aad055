/**
 * `labimg build --autoscaling aws|aliyun`: the flags checked, the worker user-data picked from what the build
 * rendered, and the scaling files made once the image is known. Every check runs before anything is written.
 */
import { UserError } from '../../contract/errors';
import { bootsWithCloudInit, type BuildInputs } from '../../builder/build';
import { USER_DATA_LIMITS } from '../../builder/manifest';
import { aliyunTagProblem, renderAliyunScalingConfiguration } from '../../builder/render/autoscaling/aliyun';
import { renderAwsScalingGroup } from '../../builder/render/autoscaling/aws';
import { ec2GpusPerInstance } from '../../builder/render/autoscaling/ec2-gpus';
import { AUTOSCALING_CLOUDS, type AutoscalingCloud, type ScalingGroupInputs } from '../../builder/render/autoscaling/scaling-group';
import type { RenderedFile } from '../../builder/render/types';

export interface AutoscalingFlags {
  autoscaling?: string;
  instanceType?: string;
  imageId?: string;
  clusterName?: string;
  gpusPerInstance?: number;
}

/** What the scaling files need besides the image, which a bake may still have to make. */
export interface AutoscalingPlan {
  cloud: AutoscalingCloud;
  /** From --image-id; undefined when --packer bakes the image and its manifest names it. */
  imageId?: string;
  render(imageId: string): RenderedFile[];
}

const CLOUD_NAMES: Record<AutoscalingCloud, string> = { aws: 'EC2', aliyun: 'Alibaba Cloud' };
/** The user-data limit of each cloud's scaling template (builder/manifest.ts says which documents set them). */
const LIMITS: Record<AutoscalingCloud, number> = { aws: USER_DATA_LIMITS.ec2, aliyun: USER_DATA_LIMITS.aliyun };
/** An AMI id as EC2 writes it: "ami-" and 8 or 17 hex digits. */
const AMI_ID = /^ami-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
/** The cluster name ends a tag key (128 characters at most, "k8s.io/cluster-autoscaler/" is 26) and a flag's value. */
const CLUSTER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** Whether any autoscaling flag was given (the others mean nothing without --autoscaling). */
function anyGiven(flags: AutoscalingFlags): boolean {
  return [flags.instanceType, flags.imageId, flags.clusterName, flags.gpusPerInstance].some((value) => value !== undefined);
}

export function autoscalingCloudOf(value: string): AutoscalingCloud {
  const cloud = AUTOSCALING_CLOUDS.find((known) => known === value);
  if (cloud === undefined) throw new UserError(`--autoscaling: expected ${AUTOSCALING_CLOUDS.join(' or ')}, the cloud whose scaling group launches the pool's workers, got "${value}"; nothing was written`);
  return cloud;
}

/**
 * Checks the flags against the build and picks the worker user-data: undefined without --autoscaling. `baking`:
 * --packer runs, so an AWS image may come from Packer's manifest instead of --image-id.
 */
export function planAutoscaling(flags: AutoscalingFlags, inputs: BuildInputs, files: readonly RenderedFile[], baking: { packer: boolean; amazon: boolean }): AutoscalingPlan | undefined {
  if (flags.autoscaling === undefined) {
    if (anyGiven(flags)) throw new UserError('--instance-type, --image-id, --cluster-name and --gpus-per-instance go with --autoscaling aws|aliyun; nothing was written');
    return undefined;
  }
  const cloud = autoscalingCloudOf(flags.autoscaling);
  const fail = (why: string): never => {
    throw new UserError(`--autoscaling ${cloud}: ${why}; nothing was written`);
  };
  const enrollment = inputs.enrollment;
  if (enrollment === undefined) fail("a scaling group's workers enroll with a join endpoint: give --endpoint, --endpoint-ca-fingerprint, --pool and --enrollment-token-file (or --identity)");
  const pool = (enrollment as NonNullable<BuildInputs['enrollment']>).pool;
  const instanceType = flags.instanceType ?? fail('give the instance type the group launches with --instance-type (such as g4dn.xlarge or ecs.gn6i-c4g1.xlarge)');
  if (!/^[a-z0-9][a-z0-9.-]*$/.test(instanceType)) fail(`--instance-type: expected an instance type such as g4dn.xlarge, got "${instanceType}"`);
  const clusterName = flags.clusterName ?? pool;
  if (!CLUSTER_NAME.test(clusterName)) fail(`--cluster-name: expected letters, digits, ".", "_" and "-" (100 at most), got "${clusterName}"`);

  const imageId = flags.imageId;
  if (imageId !== undefined && cloud === 'aws' && !AMI_ID.test(imageId)) fail(`--image-id: expected an AMI id such as ami-0123456789abcdef0, got "${imageId}"`);
  if (imageId !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(imageId)) fail(`--image-id: expected an image id such as m-bp1abc..., got "${imageId}"`);
  if (imageId === undefined) {
    if (cloud === 'aliyun') fail('give the image with --image-id (labimg bakes no Alibaba Cloud image)');
    if (!baking.packer) fail('give the AMI with --image-id ami-..., or add --packer, which bakes one and reads its id from the bake\'s Packer manifest');
    if (!baking.amazon) fail(`--packer bakes no AMI here (the profile names no image.amazon, or --packer-only leaves amazon-ebs.ami out): give --image-id ami-...`);
  }

  const gpu = inputs.agentConfig.gpu;
  const gpus = gpusPerInstance(cloud, instanceType, gpu !== undefined, flags.gpusPerInstance, fail);
  // A worker carries the profile's GPU labels only where the agent finds a GPU (agent/gpu/detect.ts).
  const nodeLabels = gpu && gpus !== 0 ? gpu.nodeLabels : {};
  if (cloud === 'aliyun') {
    const problem = aliyunTagProblem(nodeLabels);
    if (problem) fail(`the scaling configuration's tags become the template node's labels, and ${problem}`);
  }
  const userData = workerUserData(inputs, files, cloud, fail);
  const render = (image: string): RenderedFile[] => {
    const group: ScalingGroupInputs = { profileName: inputs.profileName, pool, clusterName, imageId: image, instanceType, userData, nodeLabels, ...(gpus ? { gpusPerInstance: gpus } : {}) };
    return cloud === 'aws' ? renderAwsScalingGroup(group) : renderAliyunScalingConfiguration(group);
  };
  return { cloud, ...(imageId !== undefined ? { imageId } : {}), render };
}

/**
 * The GPUs of one instance, for a GPU profile on AWS: the instance-type table's, or --gpus-per-instance. Alibaba
 * Cloud's autoscaler reads the count from the instance type itself, so nothing is needed there.
 */
function gpusPerInstance(cloud: AutoscalingCloud, instanceType: string, gpuProfile: boolean, given: number | undefined, fail: (why: string) => never): number | undefined {
  if (given !== undefined && (!Number.isInteger(given) || given < 0 || given > 64)) fail(`--gpus-per-instance: expected a whole number from 0 to 64, got ${given}`);
  if (!gpuProfile) {
    if (given !== undefined && given > 0) fail('--gpus-per-instance: the profile prepares no GPU (no gpu block), so its nodes offer no nvidia.com/gpu');
    return undefined;
  }
  if (given !== undefined) return given;
  if (cloud === 'aliyun') return undefined;
  const known = ec2GpusPerInstance(instanceType);
  if (known === undefined) fail(`labimg does not know how many GPUs a ${instanceType} has; give it with --gpus-per-instance N (0 for a type without one), from AWS's instance-type pages`);
  return known;
}

/**
 * The worker user-data the group boots with: the smallest the build wrote for the profile's boot config
 * (cloud-init's, or Ignition's for an OS that takes only Ignition), with the user's scripts where given. A stub,
 * which fetches the agent, is the small one. Refused when the cloud's limit is smaller.
 */
function workerUserData(inputs: BuildInputs, files: readonly RenderedFile[], cloud: AutoscalingCloud, fail: (why: string) => never): RenderedFile {
  const scripts = (inputs.userScripts?.length ?? 0) > 0;
  const pattern = !bootsWithCloudInit(inputs.agentConfig) ? /^ignition-worker(-stub)?\.json$/ : scripts ? /^user-data-worker(-stub)?\.mime$/ : /^user-data-worker(-stub)?\.yaml$/;
  const candidates = files.filter((file) => pattern.test(file.name)).sort((a, b) => a.content.length - b.content.length);
  const smallest = candidates[0] ?? fail('the build wrote no worker user-data');
  const limit = LIMITS[cloud];
  if (smallest.content.length > limit) {
    const stub = candidates.some((file) => file.name.includes('-stub.'));
    fail(
      `${smallest.name} is ${smallest.content.length} B, more than the ${limit} B of user-data ${CLOUD_NAMES[cloud]} takes${stub ? '' : '; add --agent-url URL (where you serve agent.js) for a stub that fetches the agent'}`,
    );
  }
  return smallest;
}

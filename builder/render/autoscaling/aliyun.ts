/**
 * An Alibaba Cloud Auto Scaling (ESS) scaling configuration for one pool's workers: the request parameters of
 * CreateScalingConfiguration as JSON, one per key.
 *
 * What the cluster autoscaler's alicloud provider reads (kubernetes/autoscaler at 55c37cd5eb, 2026-08-22, read
 * 2026-12-06): it finds no group by itself ("Auto Discovery is not supported in AliCloud currently",
 * cloudprovider/alicloud/README.md), so each group is named with --nodes=MIN:MAX:ASG_ID. For a node of an empty
 * group it reads the active scaling configuration (alicloud_manager.go, getAsgTemplate and
 * buildNodeFromTemplate): CPU, memory and nvidia.com/gpu from the instance type (DescribeInstanceTypes'
 * GPUAmount, alicloud_instance_types.go), and every tag of the configuration as a node label
 * (buildGenericLabels). No taints. So the configuration's tags are exactly the labels a worker registers with,
 * and no GPU count is written: the provider has its own.
 *
 * The parameters (aliyun/alibabacloud-python-sdk, ess-20220222/alibabacloud_ess20220222/models/
 * _create_scaling_configuration_request.py at d301b03c, read 2026-12-06): UserData "must be Base64 encoded. The
 * raw data can be up to 32 KB"; Tags, a string: "up to 20 tags in key-value pairs", a key up to 64 characters
 * and a value up to 128, neither starting with "aliyun" or "acs:" nor holding "http://" or "https://".
 */
import { scalingFile, scalingGroupName, sortedEntries, type ScalingGroupInputs } from './scaling-group';
import type { RenderedFile } from '../types';

export const ALIYUN_TAG_LIMITS = { count: 20, keyLength: 64, valueLength: 128 } as const;

/** Why ESS would refuse these labels as the configuration's tags, or undefined when it takes them. */
export function aliyunTagProblem(labels: Readonly<Record<string, string>>): string | undefined {
  const entries = sortedEntries(labels);
  if (entries.length > ALIYUN_TAG_LIMITS.count) return `${entries.length} labels, more than the ${ALIYUN_TAG_LIMITS.count} tags a scaling configuration takes`;
  for (const [key, value] of entries) {
    if (key.length > ALIYUN_TAG_LIMITS.keyLength || value.length > ALIYUN_TAG_LIMITS.valueLength) return `label ${key} is longer than a tag's key (64) or value (128)`;
    for (const text of [key, value]) {
      if (/^(aliyun|acs:)/.test(text) || /https?:\/\//.test(text)) return `label ${key}=${value}: a tag may not start with "aliyun" or "acs:" nor hold a URL`;
    }
  }
  return undefined;
}

export function renderAliyunScalingConfiguration(inputs: ScalingGroupInputs): RenderedFile[] {
  const labels = sortedEntries(inputs.nodeLabels);
  const configuration = {
    ScalingConfigurationName: scalingGroupName(inputs),
    ImageId: inputs.imageId,
    InstanceType: inputs.instanceType,
    ...(labels.length > 0 ? { Tags: JSON.stringify(Object.fromEntries(labels)) } : {}),
    UserData: inputs.userData.content.toString('base64'),
  };
  return [scalingFile('aliyun-scaling-configuration.json', configuration, inputs.userData)];
}

/**
 * An EC2 launch template and an Auto Scaling group for one pool's workers, as the AWS CLI's --cli-input-json
 * takes them (`aws ec2 create-launch-template`, `aws autoscaling create-auto-scaling-group`), with the tags the
 * cluster autoscaler's AWS provider discovers the group by and builds a node of an empty group from.
 *
 * What the cluster autoscaler reads (kubernetes/autoscaler at 55c37cd5eb, 2026-08-22, read 2026-12-06):
 * - cluster-autoscaler/cloudprovider/aws/README.md, "Auto-Discovery Setup": groups that carry the tag keys
 *   `k8s.io/cluster-autoscaler/enabled` and `k8s.io/cluster-autoscaler/<cluster-name>` are found with
 *   `--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/<cluster-name>`;
 *   only the keys are matched when no value is given.
 * - cluster-autoscaler/cloudprovider/aws/aws_manager.go, buildNodeFromTemplate and extract*FromAsg: a group's tag
 *   `k8s.io/cluster-autoscaler/node-template/label/<label>` = value becomes a label of the template node,
 *   `.../node-template/resources/<resource>` = a quantity its capacity, `.../node-template/taint/<key>` =
 *   "value:effect" a taint. Read from the group's tags, not the instances', so PropagateAtLaunch is false.
 */
import { scalingFile, scalingGroupName, sortedEntries, type ScalingGroupInputs } from './scaling-group';
import type { RenderedFile } from '../types';

export const CA_TAG_PREFIX = 'k8s.io/cluster-autoscaler/';
const NODE_TEMPLATE = `${CA_TAG_PREFIX}node-template/`;
/** NVIDIA's device plugin's extended resource. */
const GPU_RESOURCE = 'nvidia.com/gpu';

/** The group is made empty and scales from zero; the README shows --max-size and --min-size on the command line. */
const MIN_SIZE = 0;
const MAX_SIZE = 10;

interface AsgTag {
  Key: string;
  PropagateAtLaunch: boolean;
  ResourceId: string;
  ResourceType: 'auto-scaling-group';
  Value: string;
}

/** The tag keys the README's --node-group-auto-discovery flag names. */
export function autoDiscoveryTagKeys(clusterName: string): string[] {
  return [`${CA_TAG_PREFIX}enabled`, `${CA_TAG_PREFIX}${clusterName}`];
}

/**
 * The group's tags: auto-discovery, then the node template. No taint: a worker registers with none but the GPU
 * readiness gate, which is a startup taint (the README passes it as --startup-taint), not one a node keeps.
 */
function groupTags(inputs: ScalingGroupInputs): Array<[string, string]> {
  const [enabled, cluster] = autoDiscoveryTagKeys(inputs.clusterName);
  const tags: Array<[string, string]> = [
    [enabled as string, 'true'],
    [cluster as string, 'owned'],
    ...sortedEntries(inputs.nodeLabels).map(([label, value]): [string, string] => [`${NODE_TEMPLATE}label/${label}`, value]),
  ];
  if (inputs.gpusPerInstance) tags.push([`${NODE_TEMPLATE}resources/${GPU_RESOURCE}`, String(inputs.gpusPerInstance)]);
  return tags;
}

export function renderAwsScalingGroup(inputs: ScalingGroupInputs): RenderedFile[] {
  const name = scalingGroupName(inputs);
  // RequestLaunchTemplateData (EC2 API reference): UserData is base64 text, "limited to 16 KB" raw; HttpTokens
  // "required" makes instances answer only IMDSv2 (session token) requests.
  const launchTemplate = {
    LaunchTemplateName: name,
    VersionDescription: `labimg profile ${inputs.profileName}, pool ${inputs.pool}`,
    LaunchTemplateData: {
      ImageId: inputs.imageId,
      InstanceType: inputs.instanceType,
      MetadataOptions: { HttpEndpoint: 'enabled', HttpTokens: 'required' },
      TagSpecifications: [
        {
          ResourceType: 'instance',
          Tags: [
            { Key: 'labimg:pool', Value: inputs.pool },
            { Key: 'labimg:profile', Value: inputs.profileName },
          ],
        },
      ],
      UserData: inputs.userData.content.toString('base64'),
    },
  };
  const group = {
    AutoScalingGroupName: name,
    LaunchTemplate: { LaunchTemplateName: name, Version: '$Latest' },
    MinSize: MIN_SIZE,
    MaxSize: MAX_SIZE,
    Tags: groupTags(inputs).map(([Key, Value]): AsgTag => ({ Key, PropagateAtLaunch: false, ResourceId: name, ResourceType: 'auto-scaling-group', Value })),
  };
  return [scalingFile('aws-launch-template.json', launchTemplate, inputs.userData), scalingFile('aws-auto-scaling-group.json', group)];
}

/**
 * How many NVIDIA GPUs common EC2 instance types have: what the cluster autoscaler's node-template tag
 * `.../resources/nvidia.com/gpu` says a node of an empty group will offer. Copied from the instance-type table of
 * AWS's "Run GPU jobs" page (https://docs.aws.amazon.com/batch/latest/userguide/gpu-jobs.html, column "GPUs",
 * read 2026-12-06 in its pt_BR and ko_KR editions, which agree), the same counts as the accelerated computing
 * instance pages (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/accelerated-computing-instances.html).
 * A type not listed here takes its count from --gpus-per-instance.
 */
export const EC2_GPUS_PER_INSTANCE: Readonly<Record<string, number>> = {
  'g4dn.xlarge': 1,
  'g4dn.2xlarge': 1,
  'g4dn.4xlarge': 1,
  'g4dn.8xlarge': 1,
  'g4dn.12xlarge': 4,
  'g4dn.16xlarge': 1,
  'g5.xlarge': 1,
  'g5.2xlarge': 1,
  'g5.4xlarge': 1,
  'g5.8xlarge': 1,
  'g5.12xlarge': 4,
  'g5.16xlarge': 1,
  'g5.24xlarge': 4,
  'g5.48xlarge': 8,
  'g6.xlarge': 1,
  'g6.2xlarge': 1,
  'g6.4xlarge': 1,
};

/** The GPU count of an EC2 instance type, or undefined for one this table does not list. */
export function ec2GpusPerInstance(instanceType: string): number | undefined {
  return Object.prototype.hasOwnProperty.call(EC2_GPUS_PER_INSTANCE, instanceType) ? EC2_GPUS_PER_INSTANCE[instanceType] : undefined;
}

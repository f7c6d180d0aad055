/** `labimg build --autoscaling`: what it refuses before writing anything, secrets' modes, Alibaba Cloud's file. */
import test from 'ava';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { filesIn, labimg, tempDir } from './helpers/cli';
import { bakedAmi } from '../cli/packer-manifest';

const FINGERPRINT = `sha256:${'c'.repeat(64)}`;
const POOL = ['--endpoint', 'https://10.0.0.5:8443', '--endpoint-ca-fingerprint', FINGERPRINT, '--pool', 'gpus'];
const IDENTITY = [...POOL, '--identity', 'aws'];

test('bad or missing flags are refused, naming the flag, and nothing is written', (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['ubuntu-gpu', '--autoscaling', 'aws', '--instance-type', 'g4dn.xlarge', '--image-id', 'ami-0123456789abcdef0'], /--autoscaling aws: a scaling group's workers enroll with a join endpoint: give --endpoint/],
    [['ubuntu-gpu', ...IDENTITY, '--autoscaling', 'gcp'], /--autoscaling: expected aws or aliyun, .*got "gcp"/],
    [['ubuntu-gpu', ...IDENTITY, '--autoscaling', 'aws', '--image-id', 'ami-0123456789abcdef0'], /--instance-type/],
    [['ubuntu-gpu', ...IDENTITY, '--autoscaling', 'aws', '--instance-type', 'g4dn.xlarge'], /give the AMI with --image-id ami-\.\.\., or add --packer/],
    [['ubuntu-gpu', ...IDENTITY, '--autoscaling', 'aws', '--instance-type', 'g4dn.xlarge', '--image-id', 'm-bp1abc'], /--image-id: expected an AMI id/],
    [['ubuntu-gpu', ...POOL, '--identity', 'aliyun', '--autoscaling', 'aliyun', '--instance-type', 'ecs.gn6i-c4g1.xlarge'], /--autoscaling aliyun: give the image with --image-id/],
    // Workers launched by one cloud cannot vouch for themselves with another's identity documents.
    [['ubuntu-gpu', ...IDENTITY, '--autoscaling', 'aliyun', '--instance-type', 'ecs.gn6i-c4g1.xlarge', '--image-id', 'm-bp1abcdefghijk'], /--autoscaling aliyun and --identity aws name different clouds/],
    [['ubuntu-gpu', ...IDENTITY, '--autoscaling', 'aws', '--instance-type', 'g4dn.xlarge', '--image-id', 'ami-0123456789abcdef0', '--cluster-name', 'no spaces'], /--cluster-name: expected letters/],
    // A GPU profile on a type labimg has no count for: the error names the flag that gives it by hand.
    [['ubuntu-gpu', ...IDENTITY, '--autoscaling', 'aws', '--instance-type', 'p3.2xlarge', '--image-id', 'ami-0123456789abcdef0'], /does not know how many GPUs a p3\.2xlarge has; give it with --gpus-per-instance N/],
    [['ubuntu', ...IDENTITY, '--autoscaling', 'aws', '--instance-type', 'm5.large', '--image-id', 'ami-0123456789abcdef0', '--gpus-per-instance', '1'], /the profile prepares no GPU/],
    [['ubuntu', ...IDENTITY, '--instance-type', 'm5.large'], /go with --autoscaling aws\|aliyun/],
  ];
  for (const [args, expected] of cases) {
    const out = tempDir();
    const result = labimg(['build', ...args.slice(0, 1), '--out', out, ...args.slice(1)]);
    t.not(result.code, 0, args.join(' '));
    t.regex(result.stderr, expected, args.join(' '));
    t.deepEqual(filesIn(out), [], `${args.join(' ')}: nothing written`);
  }
});

test('--gpus-per-instance gives the count of a type labimg does not know', (t) => {
  const out = tempDir();
  const result = labimg(['build', 'ubuntu-gpu', '--out', out, ...IDENTITY, '--autoscaling', 'aws', '--instance-type', 'p3.8xlarge', '--gpus-per-instance', '4', '--image-id', 'ami-0123456789abcdef0']);
  t.is(result.code, 0, result.stderr);
  const group = readFileSync(path.join(out, 'ubuntu-gpu', 'autoscaling', 'aws-auto-scaling-group.json'), 'utf8');
  t.regex(group, /"Key": "k8s\.io\/cluster-autoscaler\/node-template\/resources\/nvidia\.com\/gpu",[^}]*"Value": "4"/);
});

test('a worker user-data over the cloud\'s limit is refused before anything is written', (t) => {
  // A user script of 20,000 bytes: the multipart user-data that carries it cannot fit EC2's 16,383 B.
  const script = path.join(tempDir(), 'big.sh');
  writeFileSync(script, `#!/bin/sh\n${Array.from({ length: 400 }, (_, i) => `echo line ${String(i).padStart(4, '0')} of a script that pads the user-data well past the limit`).join('\n')}\n`);
  for (const cloud of ['aws', 'aliyun']) {
    const out = tempDir();
    const image = cloud === 'aws' ? 'ami-0123456789abcdef0' : 'm-bp1abcdefghijk';
    const result = labimg(['build', 'ubuntu', '--out', out, ...POOL, '--identity', cloud, '--user-script', script, '--autoscaling', cloud, '--instance-type', cloud === 'aws' ? 'm5.large' : 'ecs.g7.large', '--image-id', image]);
    t.not(result.code, 0);
    t.regex(result.stderr, cloud === 'aws' ? /user-data-worker-stub\.mime is \d+ B, more than the 16383 B of user-data EC2 takes/ : /more than the 16000 B of user-data Alibaba Cloud takes/);
    t.deepEqual(filesIn(out), []);
  }
});

test('with an enrollment token in the user-data, the files that embed it are 0600; the group definition holds none', (t) => {
  const tokenFile = path.join(tempDir(), 'token');
  const token = `abcd1234.${'Q'.repeat(43)}`;
  writeFileSync(tokenFile, `${token}\n`);
  const out = tempDir();
  const result = labimg(['build', 'ubuntu-gpu', '--out', out, ...POOL, '--enrollment-token-file', tokenFile, '--autoscaling', 'aws', '--instance-type', 'g4dn.xlarge', '--image-id', 'ami-0123456789abcdef0']);
  t.is(result.code, 0, result.stderr);
  t.false(`${result.stdout}${result.stderr}`.includes(token));
  const dir = path.join(out, 'ubuntu-gpu');
  const mode = (file: string) => statSync(path.join(dir, file)).mode & 0o777;
  t.is(mode('user-data-worker-stub.yaml'), 0o600);
  t.is(mode('autoscaling/aws-launch-template.json'), 0o600);
  const template = JSON.parse(readFileSync(path.join(dir, 'autoscaling/aws-launch-template.json'), 'utf8')) as { LaunchTemplateData: { UserData: string } };
  t.true(Buffer.from(template.LaunchTemplateData.UserData, 'base64').toString('utf8').includes(token));
  t.is(mode('autoscaling/aws-auto-scaling-group.json'), 0o644);
  t.false(readFileSync(path.join(dir, 'autoscaling/aws-auto-scaling-group.json'), 'utf8').includes(token));

  // With --identity the user-data holds no secret, and nor does the template.
  const idOut = tempDir();
  t.is(labimg(['build', 'ubuntu-gpu', '--out', idOut, ...IDENTITY, '--autoscaling', 'aws', '--instance-type', 'g4dn.xlarge', '--image-id', 'ami-0123456789abcdef0']).code, 0);
  t.is(statSync(path.join(idOut, 'ubuntu-gpu', 'autoscaling/aws-launch-template.json')).mode & 0o777, 0o644);
});

test('Alibaba Cloud: the scaling configuration carries the image, the type, the stub in base64, and the GPU labels as Tags', (t) => {
  const out = tempDir();
  const result = labimg(['build', 'ubuntu-gpu', '--out', out, ...POOL, '--identity', 'aliyun', '--autoscaling', 'aliyun', '--instance-type', 'ecs.gn6i-c4g1.xlarge', '--image-id', 'm-bp1abcdefghijk']);
  t.is(result.code, 0, result.stderr);
  const dir = path.join(out, 'ubuntu-gpu');
  t.deepEqual(filesIn(path.join(dir, 'autoscaling')), ['aliyun-scaling-configuration.json']);
  const configuration = JSON.parse(readFileSync(path.join(dir, 'autoscaling/aliyun-scaling-configuration.json'), 'utf8')) as Record<string, string>;
  t.deepEqual(Object.keys(configuration), ['ScalingConfigurationName', 'ImageId', 'InstanceType', 'Tags', 'UserData']);
  t.like(configuration, { ScalingConfigurationName: 'labimg-ubuntu-gpu-gpus', ImageId: 'm-bp1abcdefghijk', InstanceType: 'ecs.gn6i-c4g1.xlarge' });
  // The alicloud provider takes every tag of the configuration for a label of the template node.
  t.deepEqual(JSON.parse(configuration.Tags as string), { 'nvidia.com/gpu.present': 'true' });
  t.deepEqual(Buffer.from(configuration.UserData as string, 'base64'), readFileSync(path.join(dir, 'user-data-worker-stub.yaml')));

  const cpu = tempDir();
  t.is(labimg(['build', 'ubuntu', '--out', cpu, ...POOL, '--identity', 'aliyun', '--autoscaling', 'aliyun', '--instance-type', 'ecs.g7.large', '--image-id', 'm-bp1abcdefghijk']).code, 0);
  t.false('Tags' in (JSON.parse(readFileSync(path.join(cpu, 'ubuntu', 'autoscaling/aliyun-scaling-configuration.json'), 'utf8')) as object));
});

test('the same inputs give the same bytes', (t) => {
  const args = ['ubuntu-gpu', ...IDENTITY, '--autoscaling', 'aws', '--instance-type', 'g5.xlarge', '--image-id', 'ami-0123456789abcdef0'];
  const [a, b] = [tempDir(), tempDir()].map((out) => {
    t.is(labimg(['build', args[0] as string, '--out', out, ...args.slice(1)]).code, 0);
    return path.join(out, 'ubuntu-gpu', 'autoscaling');
  }) as [string, string];
  for (const file of filesIn(a)) t.deepEqual(readFileSync(path.join(a, file)), readFileSync(path.join(b, file)), file);
  t.false(existsSync(path.join(a, '..', 'manifest.json')) && readFileSync(path.join(a, '..', 'manifest.json'), 'utf8').includes('autoscaling/'), 'manifest.json lists the build, not the scaling files');
});

test('a bake\'s AMI is read from Packer\'s manifest: the last run\'s amazon-ebs build, "REGION:AMI-ID"', (t) => {
  // The manifest post-processor's format, as its documentation shows it (builds appended run after run).
  const file = path.join(tempDir(), 'ubuntu.packer-manifest.json');
  const build = (uuid: string, type: string, id: string) => ({ name: 'ami', builder_type: type, build_time: 1, files: null, artifact_id: id, packer_run_uuid: uuid, custom_data: null });
  writeFileSync(file, JSON.stringify({ builds: [build('run-1', 'amazon-ebs', 'us-east-1:ami-00000000000000001'), build('run-2', 'qemu', 'labimg-ubuntu'), build('run-2', 'amazon-ebs', 'eu-west-1:ami-0123456789abcdef0,us-east-1:ami-0fedcba9876543210')], last_run_uuid: 'run-2' }));
  t.deepEqual(bakedAmi(file), { region: 'eu-west-1', imageId: 'ami-0123456789abcdef0' });
  writeFileSync(file, JSON.stringify({ builds: [build('run-1', 'amazon-ebs', 'us-east-1:ami-00000000000000001'), build('run-2', 'qemu', 'labimg-ubuntu')], last_run_uuid: 'run-2' }));
  t.throws(() => bakedAmi(file), { message: /names no AMI of the last bake/ });
});

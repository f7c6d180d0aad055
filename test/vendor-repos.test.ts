/**
 * Repositories as real machines find them: CentOS 7's own CentOS-Base.repo names mirrorlist.centos.org, which
 * has no DNS record since the distro's end of life (2024-07-01), and NVIDIA signs its container toolkit with a
 * subkey that EL7's rpm cannot verify. The yum stand-in refuses both as yum does; labimg replaces the distro's
 * repositories with the vault's before the first package step, and writes NVIDIA's repository as NVIDIA does.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { NodeConfig } from '../contract/agent-config';
import { FAKE_BIN, FakeMachine, fixture, profileConfig } from './helpers/agent-machine';
import { labimg } from './helpers/cli';

/** Runs one stand-in command against `machine`, as the agent would. */
function standIn(machine: FakeMachine, command: string, args: string[]) {
  const result = spawnSync(process.execPath, [path.join(FAKE_BIN, command), ...args], { env: { LABIMG_FAKE_ROOT: machine.root }, encoding: 'utf8' });
  return { code: result.status, stderr: result.stderr };
}

const VAULT_BASE = `# Managed by labimg-agent: changes here are replaced on the next run.
[base]
name=CentOS-7 - Base (vault 7.9.2009)
baseurl=https://vault.centos.org/7.9.2009/os/$basearch/
enabled=1
gpgcheck=1
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-7

[updates]
name=CentOS-7 - Updates (vault 7.9.2009)
baseurl=https://vault.centos.org/7.9.2009/updates/$basearch/
enabled=1
gpgcheck=1
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-7

[extras]
name=CentOS-7 - Extras (vault 7.9.2009)
baseurl=https://vault.centos.org/7.9.2009/extras/$basearch/
enabled=1
gpgcheck=1
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-7
`;

test('the yum stand-in refuses to install while CentOS 7 keeps its stock repositories, as yum does', async (t) => {
  const machine = await FakeMachine.create({ config: profileConfig('centos') });
  t.teardown(() => machine.dispose());
  const yum = standIn(machine, 'yum', ['install', '-y', 'docker-ce']);
  t.is(yum.code, 1);
  t.true(yum.stderr.includes('Could not retrieve mirrorlist http://mirrorlist.centos.org/?release=7&arch=x86_64&repo=os&infra=stock error was'), yum.stderr);
  t.true(yum.stderr.trimEnd().endsWith('Cannot find a valid baseurl for repo: base/7/x86_64'), yum.stderr);
});

test('on a fresh CentOS 7 the agent replaces CentOS-Base.repo with the vault before it installs anything', async (t) => {
  const machine = await FakeMachine.create({ config: profileConfig('centos'), node: fixture<NodeConfig>('node-control-plane') });
  t.teardown(() => machine.dispose());
  const run = await machine.runAgent();
  t.is(run.code, 0, run.stdout + run.stderr);
  t.is(machine.read('/etc/yum.repos.d/CentOS-Base.repo'), VAULT_BASE);
  // Every enabled repository is reachable now, the distro's own included.
  t.is(standIn(machine, 'yum', ['makecache']).code, 0);
});

test('labimg plan centos-gpu writes the vault repositories before its first yum command', (t) => {
  const plan = labimg(['plan', 'centos-gpu']);
  t.is(plan.code, 0, plan.stderr);
  const repoWrite = plan.stdout.indexOf('write  /etc/yum.repos.d/CentOS-Base.repo (mode 0644)');
  const firstYum = plan.stdout.search(/^ {4}run {4}yum /m);
  t.true(repoWrite > 0, plan.stdout);
  t.true(firstYum > repoWrite, `the first yum command comes before CentOS-Base.repo is replaced:\n${plan.stdout}`);
  t.true(plan.stdout.includes('| baseurl=https://vault.centos.org/7.9.2009/updates/$basearch/'));
});

test('the aliyun preset moves the vault to Aliyun\'s centos-vault', (t) => {
  const plan = labimg(['plan', 'test/fixtures/profiles/seed-lab-aliyun.yaml']);
  t.is(plan.code, 0, plan.stderr);
  t.true(plan.stdout.includes('| baseurl=https://mirrors.aliyun.com/centos-vault/7.9.2009/os/$basearch/'), plan.stdout);
  t.false(plan.stdout.includes('vault.centos.org'));
  // The distro's own key is on the node already: nothing to mirror.
  t.true(plan.stdout.includes('| gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-7'));
});

test('NVIDIA\'s rpm repository is written as NVIDIA publishes it: metadata signature checked, packages not', (t) => {
  for (const profile of ['centos-gpu', 'rocky9-gpu']) {
    const plan = labimg(['plan', profile]);
    t.is(plan.code, 0, plan.stderr);
    t.true(
      plan.stdout.includes(
        [
          '           | [nvidia-container-toolkit]',
          '           | name=NVIDIA container toolkit',
          '           | baseurl=https://nvidia.github.io/libnvidia-container/stable/rpm/$basearch',
          '           | enabled=1',
          '           | gpgcheck=0',
          '           | repo_gpgcheck=1',
          '           | gpgkey=https://nvidia.github.io/libnvidia-container/gpgkey',
        ].join('\n'),
      ),
      `${profile}:\n${plan.stdout}`,
    );
  }
});

test('the yum stand-in refuses NVIDIA\'s subkey-signed packages on EL7 when gpgcheck is on', async (t) => {
  const machine = await FakeMachine.create({ config: profileConfig('centos-gpu') });
  t.teardown(() => machine.dispose());
  machine.write('/etc/yum.repos.d/CentOS-Base.repo', VAULT_BASE);
  const repo = (gpgcheck: number) =>
    `[nvidia-container-toolkit]\nname=NVIDIA container toolkit\nbaseurl=https://nvidia.github.io/libnvidia-container/stable/rpm/$basearch\ngpgcheck=${gpgcheck}\ngpgkey=https://nvidia.github.io/libnvidia-container/gpgkey\n`;
  machine.write('/etc/yum.repos.d/nvidia-container-toolkit.repo', repo(1));
  const refused = standIn(machine, 'yum', ['install', '-y', 'nvidia-container-toolkit']);
  t.is(refused.code, 1);
  t.true(refused.stderr.startsWith('The GPG keys listed for the "NVIDIA container toolkit" repository are already installed but they are not correct for this package.'), refused.stderr);
  machine.write('/etc/yum.repos.d/nvidia-container-toolkit.repo', `${repo(0)}repo_gpgcheck=1\n`);
  t.is(standIn(machine, 'yum', ['install', '-y', 'nvidia-container-toolkit']).code, 0);
});

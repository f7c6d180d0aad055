// The end-to-end VM's checker: waits for the labimg agent's unit to finish, gathers what the test asserts
// on, prints it to the console in one or more "LABIMG-E2E-FACTS i/n <base64 of JSON>" lines, and powers the
// machine off. It runs on the guest's own Node (Debian's nodejs), from a unit the test's user-script installs.
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');

const read = (file) => {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
};
const run = (command, args) => {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  return { code: result.status, out: `${result.stdout || ''}${result.stderr || ''}` };
};
const property = (unit, name) => run('systemctl', ['show', '--property', name, '--value', unit]).out.trim();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function main() {
  // The agent's unit is oneshot with RemainAfterExit: "active" once it succeeded, "failed" when it did not.
  const deadline = Date.now() + 40 * 60_000;
  let state = property('labimg-agent.service', 'ActiveState');
  while (!['active', 'failed'].includes(state) && Date.now() < deadline) {
    await sleep(2000);
    state = property('labimg-agent.service', 'ActiveState');
  }
  const dump = run('containerd', ['config', 'dump']).out;
  const facts = {
    agent: { activeState: state, result: property('labimg-agent.service', 'Result'), status: property('labimg-agent.service', 'ExecMainStatus') },
    agentState: JSON.parse(read('/var/lib/labimg/state.json') || 'null'),
    modules: Object.fromEntries(['overlay', 'br_netfilter'].map((m) => [m, fs.existsSync(`/sys/module/${m}`)])),
    sysctls: Object.fromEntries(
      ['net/bridge/bridge-nf-call-iptables', 'net/bridge/bridge-nf-call-ip6tables', 'net/ipv4/ip_forward'].map((key) => [key, (read(`/proc/sys/${key}`) || '').trim()]),
    ),
    swaps: (read('/proc/swaps') || '').split('\n').slice(1).filter((line) => line.trim()),
    containerd: {
      active: property('containerd.service', 'ActiveState'),
      systemdCgroup: /SystemdCgroup = true/.test(dump),
      sandboxImage: (/sandbox_image = "([^"]*)"/.exec(dump) || [])[1] || null,
      criPlugin: (/io\.containerd\.grpc\.v1\s+cri\s+\S+\s+(\S+)/.exec(run('ctr', ['plugins', 'ls']).out) || [])[1] || null,
      images: run('ctr', ['--namespace', 'k8s.io', 'images', 'list', '--quiet']).out.split('\n').filter(Boolean),
    },
    kubelet: { enabled: property('kubelet.service', 'UnitFileState'), active: property('kubelet.service', 'ActiveState') },
    refreshTimer: property('labimg-refresh.timer', 'ActiveState'),
    calls: (read('/var/lib/labimg-e2e/calls.log') || '').split('\n').filter(Boolean),
    initConfig: read('/var/lib/labimg-e2e/init-config.yaml'),
    created: JSON.parse(read('/var/lib/labimg-e2e/created.json') || '[]'),
    rebooted: fs.existsSync('/var/lib/labimg-e2e/rebooted'),
    boots: run('journalctl', ['--list-boots', '--no-pager']).out.split('\n').filter((line) => /^\s*-?\d+ /.test(line)).length,
    aptInstalls: run('grep', ['-c', ' install ', '/var/log/dpkg.log']).out.trim(),
  };
  const encoded = Buffer.from(JSON.stringify(facts)).toString('base64');
  const chunks = encoded.match(/.{1,512}/g) || [];
  const console = fs.openSync('/dev/console', 'w');
  chunks.forEach((chunk, i) => fs.writeSync(console, `LABIMG-E2E-FACTS ${i + 1}/${chunks.length} ${chunk}\n`));
  fs.closeSync(console);
  execFileSync('systemctl', ['poweroff']);
}

main();

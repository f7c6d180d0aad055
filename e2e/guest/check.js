// The end-to-end VM's checker: waits for the labimg agent's unit to finish, gathers what the test asserts
// on, prints it to the console in one or more "LABIMG-E2E-FACTS i/n <base64 of JSON>" lines, and powers the
// machine off. It runs on the guest's own Node (Debian's nodejs), from a unit the test's user-script installs,
// bundled with its one dependency (smol-toml) by e2e/helpers/checker.ts.
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const { parse: parseToml } = require('smol-toml');

/**
 * Where runc's options live in each containerd config version, per containerd's docs/cri/config.md
 * (https://github.com/containerd/containerd/blob/main/docs/cri/config.md, read 2026-12-05): the CRI plugin is
 * "io.containerd.grpc.v1.cri" in version 2 (containerd 1.x) and "io.containerd.cri.v1.runtime" in version 3
 * (containerd 2.x). Version 1 (no `version` key, containerd 1.x only) named the plugin "cri".
 */
const CRI_RUNTIME_PLUGIN = { 1: 'cri', 2: 'io.containerd.grpc.v1.cri', 3: 'io.containerd.cri.v1.runtime' };
const CRI_IMAGES_PLUGIN = { 1: 'cri', 2: 'io.containerd.grpc.v1.cri', 3: 'io.containerd.cri.v1.images' };

const at = (object, keys) => keys.reduce((node, key) => (node !== null && typeof node === 'object' ? node[key] : undefined), object);

/**
 * What the runc runtime of containerd's CRI gets for SystemdCgroup, from a config's TOML: true only when the key
 * is true at plugins.<CRI runtime plugin>.containerd.runtimes.runc.options, for the config's version. The same
 * key under another runtime (nvidia) or another table does not count: runc is what the kubelet's pods run on.
 * Give it the output of `containerd config dump`, which is the config after containerd merged its `imports`
 * drop-ins (as containerd merges them), so a drop-in that sets or overrides the key counts as it does for
 * containerd. Returns { systemdCgroup, version, error }.
 */
function runcSystemdCgroup(text) {
  let config;
  try {
    config = parseToml(text);
  } catch (err) {
    return { systemdCgroup: false, version: null, error: `containerd's config is not TOML: ${err.message}` };
  }
  const version = config.version === undefined ? 1 : Number(config.version);
  const plugin = CRI_RUNTIME_PLUGIN[version];
  if (!plugin) return { systemdCgroup: false, version, error: `containerd config version ${config.version} is not one containerd reads` };
  return { systemdCgroup: at(config, ['plugins', plugin, 'containerd', 'runtimes', 'runc', 'options', 'SystemdCgroup']) === true, version };
}

/** The CRI's sandbox (pause) image: sandbox_image (versions 1, 2) or pinned_images.sandbox (version 3). */
function sandboxImage(text) {
  let config;
  try {
    config = parseToml(text);
  } catch {
    return null;
  }
  const version = config.version === undefined ? 1 : Number(config.version);
  const plugin = ['plugins', CRI_IMAGES_PLUGIN[version]];
  const image = version >= 3 ? at(config, [...plugin, 'pinned_images', 'sandbox']) : at(config, [...plugin, 'sandbox_image']);
  return typeof image === 'string' ? image : null;
}

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
      systemdCgroup: runcSystemdCgroup(dump).systemdCgroup,
      sandboxImage: sandboxImage(dump),
      criPlugin: (/io\.containerd\.grpc\.v1\s+cri\s+\S+\s+(\S+)/.exec(run('ctr', ['plugins', 'ls']).out) || [])[1] || null,
      images: run('ctr', ['--namespace', 'k8s.io', 'images', 'list', '--quiet']).out.split('\n').filter(Boolean),
    },
    kubelet: { enabled: property('kubelet.service', 'UnitFileState'), active: property('kubelet.service', 'ActiveState') },
    refreshTimer: property('labimg-refresh.timer', 'ActiveState'),
    calls: (read('/var/lib/labimg-e2e/calls.log') || '').split('\n').filter(Boolean),
    initConfig: read('/var/lib/labimg-e2e/init-config.yaml'),
    // The objects the kubectl stand-in created, without their whole manifests (the console is slow).
    created: JSON.parse(read('/var/lib/labimg-e2e/created.json') || '[]').map(({ kind, name, namespace, source }) => ({ kind, name, namespace, source })),
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

module.exports = { runcSystemdCgroup, sandboxImage };

// Run as the guest's checker; required by the unit tests for the functions above.
if (require.main === module) main();

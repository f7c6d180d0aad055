'use strict';
// yum and dnf stand-ins, alike for what the agent runs: install/remove against the fake package database.
// A package outside the distro's own repos is only found when a .repo file under /etc/yum.repos.d points at its repository, and a repo's exclude=
// hides packages unless --disableexcludes names that repo — as with real yum.
//
// Before an install (or makecache) real yum loads the metadata of every enabled repository, and with the default
// skip_if_unavailable=0 one it cannot reach stops the whole command (yum 3.4.3, yum/yumRepo.py
// `_getURLs`/`_setupGrab` and cli.py; the message below is EL7 yum's). Reached here means: its baseurl, or its
// mirrorlist when it has no baseurl, is on a host that still resolves. Hosts that do not:
const DEAD_HOSTS = {
  // CentOS 7's end of life: mirrorlist.centos.org was switched off on 2024-07-01 and has no DNS record since;
  // the trees moved to vault.centos.org (CentOS blog, "CentOS Linux 7 EOL", 2024; checked 2026-12-02).
  'mirrorlist.centos.org': 'CentOS 7 end of life',
};
// EL7's rpm verifies signatures made by a primary key only; NVIDIA signs its container toolkit packages with a
// subkey, so with gpgcheck=1 yum refuses them whatever key is imported (NVIDIA/nvidia-docker#1286, 2020-05-22;
// Red Hat bug 1225133). The message is yum's (yum/__init__.py, _checkSignatures / sigCheckPkg).
//
// dnf modularity (dnf.modularity(7)): a package that belongs to a module stream is filtered out unless that stream
// is enabled, or is the module's default while none is. NVIDIA's CUDA repository makes the driver the module
// nvidia-driver, whose default stream has been open-dkms since driver 560 (NVIDIA driver installation guide,
// "Kernel Modules"; checked 2026-12-05). Messages are dnf 4's (dnf/base.py, dnf/module/module_base.py).
const fs = require('fs');
const fake = require('./fake-machine');

const MODULE_DEFAULTS = { 'nvidia-driver': 'open-dkms' };
// The nvidia-driver streams NVIDIA publishes: latest, latest-dkms, open-dkms, and per branch NNN, NNN-dkms, NNN-open.
const MODULE_STREAMS = { 'nvidia-driver': /^(latest|latest-dkms|open-dkms|\d{3}|\d{3}-dkms|\d{3}-open)$/ };

function activeStream(module) {
  return fake.loadState('dnf-modules', {})[module] || MODULE_DEFAULTS[module];
}

function moduleCommand(command, args) {
  if (command !== 'dnf') fake.fail(`No such command: module. Please use /usr/bin/${command} --help`, 1);
  const [sub, ...specs] = args.filter((a) => !a.startsWith('-')).slice(1);
  if (sub !== 'enable') fake.fail(`${command} stand-in: unsupported module command ${sub}`, 64);
  const enabled = fake.loadState('dnf-modules', {});
  for (const spec of specs) {
    const [module, stream] = spec.split(':');
    if (!MODULE_STREAMS[module] || !stream || !MODULE_STREAMS[module].test(stream)) fake.fail(`Error: Problems in request:\nmissing groups or modules: ${spec}`, 1);
    if (enabled[module] && enabled[module] !== stream) {
      fake.fail('Error: It is not possible to switch enabled streams of a module unless explicitly enabled via configuration option module_stream_switch.', 1);
    }
    enabled[module] = stream;
  }
  fake.saveState('dnf-modules', enabled);
  fake.out('Complete!\n');
}

function requireActiveStream(command, spec, entry) {
  if (command !== 'dnf' || !entry.module) return;
  const stream = activeStream(entry.module.name);
  if (!entry.module.streams.some((pattern) => pattern.test(stream))) {
    fake.fail(`All matches were filtered out by modular filtering for argument: ${spec}\nError: Unable to find a match: ${spec}`, 1);
  }
}

function repoSections() {
  const dir = fake.rootPath('/etc/yum.repos.d');
  const sections = [];
  let names = [];
  try {
    names = fs.readdirSync(dir).filter((n) => n.endsWith('.repo'));
  } catch {
    /* no repo dir */
  }
  for (const file of names) {
    let current;
    for (const line of fake.readText(`${dir}/${file}`).split('\n')) {
      const header = /^\[(.+)\]\s*$/.exec(line);
      if (header) sections.push((current = { id: header[1], keys: {} }));
      const kv = /^([a-z_]+)\s*=\s*(.*)$/.exec(line);
      if (kv && current) current.keys[kv[1]] = kv[2];
    }
  }
  return sections;
}

/** yum's variables as EL7 sets them on x86_64 ($releasever from the release package, $infra from /etc/yum/vars). */
function expand(text) {
  const releasever = fake.osRelease().versionId.split('.')[0];
  return text.replace(/\$releasever/g, releasever).replace(/\$basearch/g, 'x86_64').replace(/\$infra/g, 'stock');
}

function enabled(section) {
  return (section.keys.enabled ?? '1').trim() !== '0';
}

/** Fails as yum does when an enabled repository's metadata cannot be fetched. */
function requireReachableRepos(sections) {
  for (const repo of sections.filter(enabled)) {
    const source = repo.keys.baseurl ? expand(repo.keys.baseurl.split(/\s+/)[0]) : repo.keys.mirrorlist ? expand(repo.keys.mirrorlist) : undefined;
    if (!source) fake.fail(`Error: Cannot find a valid baseurl for repo: ${repo.id}`, 1);
    let host;
    try {
      host = new URL(source).hostname;
    } catch {
      fake.fail(`Cannot find a valid baseurl for repo: ${repo.id}/${fake.osRelease().versionId}/x86_64`, 1);
    }
    if (DEAD_HOSTS[host]) {
      const what = repo.keys.baseurl ? `${source}repodata/repomd.xml: [Errno 14] curl#6` : `Could not retrieve mirrorlist ${source} error was\n14: curl#6`;
      fake.fail(
        `${what} - "Could not resolve host: ${host}; Unknown error"\n\n\n One of the configured repositories failed (${expand(repo.keys.name || repo.id)}),\n and yum doesn't have enough cached data to continue.\n` +
          `Cannot find a valid baseurl for repo: ${repo.id}/${fake.osRelease().versionId}/x86_64`,
        1,
      );
    }
  }
}

/** With gpgcheck=1, yum needs each key file it names on the node, and EL7 cannot check a subkey's signature. */
function requireVerifiable(spec, repo) {
  if (!repo || (repo.keys.gpgcheck ?? '1').trim() === '0') return;
  const keys = (repo.keys.gpgkey || '').split(/\s+/).filter(Boolean);
  for (const key of keys) {
    if (key.startsWith('file://') && fake.readText(fake.rootPath(key.slice('file://'.length))) === undefined) {
      fake.fail(`GPG key retrieval failed: [Errno 14] curl#37 - "Couldn't open file ${key.slice('file://'.length)}"`, 1);
    }
  }
  if (fake.catalogEntry(spec).signedWithSubkey && fake.osRelease().versionId === '7') {
    fake.fail(
      `The GPG keys listed for the "${repo.keys.name || repo.id}" repository are already installed but they are not correct for this package.\n` +
        `Check that the correct key URLs are configured for this repository.\n\n\n Failing package is: ${spec}\n GPG Keys are configured as: ${keys.join(', ')}`,
      1,
    );
  }
}

/** "kubelet-1.23.3-0" → kubelet @ 1.23.3-0, using the names the catalog knows. */
function splitSpec(spec) {
  const names = Object.keys(fake.CATALOG).sort((a, b) => b.length - a.length);
  for (const name of names) if (spec.startsWith(`${name}-`) && /^\d/.test(spec.slice(name.length + 1))) return { name, version: spec.slice(name.length + 1) };
  return { name: spec, version: undefined };
}

function run(command) {
  fake.main(command, (args) => {
    const verb = args.find((a) => !a.startsWith('-'));
    const specs = args.filter((a) => !a.startsWith('-') && a !== verb);
    const lifted = args.filter((a) => a.startsWith('--disableexcludes=')).map((a) => a.slice('--disableexcludes='.length));
    if (!args.includes('-y') && (verb === 'install' || verb === 'remove')) fake.fail('Is this ok [y/d/N]: Exiting on user command', 1);
    if (verb === 'install') {
      const sections = repoSections();
      requireReachableRepos(sections);
      for (const spec of specs) {
        const { name, version } = splitSpec(spec);
        const entry = fake.catalogEntry(name);
        if (entry.repo) {
          const repo = sections.filter(enabled).find((s) => entry.repo.test(s.keys.baseurl || ''));
          const excluded = repo && (repo.keys.exclude || '').split(/\s+/).includes(name) && !lifted.includes(repo.id) && !lifted.includes('all');
          if (!repo || excluded) fake.fail(`No package ${spec} available.\nError: Nothing to do`, 1);
          requireVerifiable(name, repo);
          requireActiveStream(command, spec, entry);
        }
        fake.installPackage(name, version);
        fake.out(`Installed: ${spec}\n`);
      }
      fake.out('Complete!\n');
    } else if (verb === 'remove') {
      for (const name of specs) {
        if (!fake.installedVersion(name)) {
          fake.out(`No Match for argument: ${name}\n`);
          continue;
        }
        fake.removePackage(name);
        fake.out(`Removed: ${name}\n`);
      }
      fake.out('Complete!\n');
    } else if (verb === 'module') {
      moduleCommand(command, args);
    } else if (verb === 'makecache') {
      requireReachableRepos(repoSections());
      fake.out('Metadata Cache Created\n');
    } else {
      fake.fail(`${command} stand-in: unsupported command ${verb}`, 64);
    }
  });
}

module.exports = { run };

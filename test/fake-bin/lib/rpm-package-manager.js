'use strict';
// yum and dnf stand-ins, alike for what the agent runs: install/remove against the fake package database.
// A package outside the distro's own repos is only found when a .repo file under /etc/yum.repos.d points at its repository, and a repo's exclude=
// hides packages unless --disableexcludes names that repo — as with real yum.
const fs = require('fs');
const fake = require('./fake-machine');

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
      for (const spec of specs) {
        const { name, version } = splitSpec(spec);
        const entry = fake.catalogEntry(name);
        if (entry.repo) {
          const repo = sections.find((s) => entry.repo.test(s.keys.baseurl || ''));
          const excluded = repo && (repo.keys.exclude || '').split(/\s+/).includes(name) && !lifted.includes(repo.id) && !lifted.includes('all');
          if (!repo || excluded) fake.fail(`No package ${spec} available.\nError: Nothing to do`, 1);
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
    } else if (verb === 'makecache') {
      fake.out('Metadata Cache Created\n');
    } else {
      fake.fail(`${command} stand-in: unsupported command ${verb}`, 64);
    }
  });
}

module.exports = { run };

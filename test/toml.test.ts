// The agent's TOML writer (agent/text/toml.ts), judged by a TOML library's parser: everything it writes must read back
// as the object it came from, and its layout is the one containerd's config files on nodes already have.
import test from 'ava';
import { parse as parseToml } from 'smol-toml';
import { stringifyToml, type TomlTable } from '../agent/text/toml';

test('a table of values and nested tables is written in the layout of the files on nodes', (t) => {
  const text = stringifyToml({
    version: 3,
    imports: ['/etc/containerd/conf.d/*.toml'],
    disabled_plugins: [],
    plugins: { 'io.containerd.cri.v1.runtime': { containerd: { default_runtime_name: 'runc', runtimes: { runc: { options: { SystemdCgroup: true } } } } } },
  });
  t.is(
    text,
    [
      'version = 3',
      'imports = [ "/etc/containerd/conf.d/*.toml" ]',
      'disabled_plugins = []',
      '',
      '[plugins."io.containerd.cri.v1.runtime".containerd]',
      'default_runtime_name = "runc"',
      '',
      '[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]',
      'SystemdCgroup = true',
    ].join('\n'),
  );
});

test('strings and keys that need escapes read back exactly', (t) => {
  const awkward = ['quote " and backslash \\', 'tab\tnew line\nreturn\r', 'bell \u0007 escape \u001b delete \u007f', 'ünïcödé 中文 🚀', 'dots.in.key', '', ' spaces '];
  const table: TomlTable = {
    plain: 'value',
    list: awkward,
    nested: Object.fromEntries(awkward.map((s, i) => [s, { [`k${i}`]: s, n: i, flag: i % 2 === 0 }])),
    'https://mirror.example:5000': { capabilities: ['pull', 'resolve'] },
    empty: {},
  };
  t.deepEqual(parseToml(stringifyToml(table)), table as never);
});

test('an empty table is still written, so it exists', (t) => {
  t.is(stringifyToml({ a: { b: {} } }), '[a.b]');
});

test('values TOML cannot state exactly are refused, not written wrong', (t) => {
  t.throws(() => stringifyToml({ n: 1.5 }), { message: /1.5 is not an integer/ });
  t.throws(() => stringifyToml({ n: Number.MAX_SAFE_INTEGER + 2 }), { message: /not an integer/ });
  t.throws(() => stringifyToml({ s: 'half \ud800 a pair' }), { message: /lone UTF-16 surrogate/ });
  t.throws(() => stringifyToml({ ['key \udc00']: 'x' }), { message: /lone UTF-16 surrogate/ });
});

/**
 * The GPU verification's readers against what the real tools print (sources in FACTS.md): nvidia-smi's CSV
 * query, mokutil --sb-state, NVIDIA's supported-gpus.json. Expectations are written out, never derived.
 */
import test from 'ava';
import { parseDriverGpus, sysfsAddressOf } from '../agent/gpu/nvidia-smi';
import { saysSecureBootEnabled } from '../agent/gpu/secure-boot';
import { deviceIdOf, parseSupportedGpus, unsupportedDevices } from '../agent/gpu/supported-gpus';

test('nvidia-smi bus ids (8-digit upper-case domain) become the names sysfs gives the same devices', (t) => {
  t.is(sysfsAddressOf('00000000:3B:00.0'), '0000:3b:00.0');
  t.is(sysfsAddressOf('00000001:B0:00.0'), '0001:b0:00.0', 'a second PCI domain');
  t.is(sysfsAddressOf('0000:02:00.0'), '0000:02:00.0', 'drivers of 2016 printed a 4-digit domain');
  t.is(sysfsAddressOf('00010000:E0:00.0'), '10000:e0:00.0', 'a VMD domain, which sysfs names with five digits');
  t.is(sysfsAddressOf('GPU-edfee158-11c1-52b8-0517-92f30e7fac88'), undefined);
});

test('one line per GPU: address, name, driver version', (t) => {
  const stdout = '00000000:19:00.0, NVIDIA H100 80GB HBM3, 550.90.07\n00000000:3B:00.0, NVIDIA H100 80GB HBM3, 550.90.07\n';
  t.deepEqual(parseDriverGpus(stdout), [
    { address: '0000:19:00.0', name: 'NVIDIA H100 80GB HBM3', driverVersion: '550.90.07' },
    { address: '0000:3b:00.0', name: 'NVIDIA H100 80GB HBM3', driverVersion: '550.90.07' },
  ]);
  t.deepEqual(parseDriverGpus(''), [], 'no GPU driven: nothing printed');
  const error = t.throws(() => parseDriverGpus('No devices were found\n'));
  t.regex(error?.message ?? '', /nvidia-smi printed "No devices were found", not "PCI address, name, driver version"/);
});

test('mokutil --sb-state: on only when its first line says enabled', (t) => {
  t.true(saysSecureBootEnabled('SecureBoot enabled\n'));
  t.true(saysSecureBootEnabled('SecureBoot enabled\nSecureBoot validation is disabled in shim\n'));
  t.false(saysSecureBootEnabled('SecureBoot disabled\nPlatform is in Setup Mode\n'));
  t.false(saysSecureBootEnabled(''), 'no UEFI: mokutil prints its error on stderr only');
});

test('supported-gpus.json: devices of this driver, not those only a legacy branch supports', (t) => {
  // The shape of NVIDIA's file (entries as a 580 driver's file has them; FACTS.md).
  const json = JSON.stringify({
    chips: [
      { devid: '0x0FC6', name: 'NVIDIA GeForce GTX 650', legacybranch: '470.xx', features: [] },
      { devid: '0x20B0', name: 'NVIDIA A100-SXM4-40GB', features: ['kernelopen'] },
      { devid: '0x2330', subdevid: '0x16C0', subvendorid: '0x10DE', name: 'NVIDIA H100 80GB HBM3', features: ['kernelopen'] },
    ],
  });
  const ids = parseSupportedGpus(json, '/usr/share/doc/nvidia-driver/supported-gpus.json');
  t.deepEqual([...ids].sort(), ['20b0', '2330']);
  const gpus = [
    { address: '0000:19:00.0', vendor: '0x10de', class: '0x030200', device: '0x2330' },
    { address: '0000:3b:00.0', vendor: '0x10de', class: '0x030200', device: '0x2335' },
    { address: '0000:5d:00.0', vendor: '0x10de', class: '0x030000', device: '0x0fc6' },
  ];
  t.deepEqual(unsupportedDevices({ deviceIds: ids, source: 'test' }, gpus).map((g) => g.address), ['0000:3b:00.0', '0000:5d:00.0']);
  t.throws(() => parseSupportedGpus('{"gpus": []}', 'f.json'), { message: /f\.json has no "chips" list/ });
  t.throws(() => parseSupportedGpus('<html>', 'f.json'), { message: /f\.json is not JSON/ });
  t.is(deviceIdOf('10de:2330'), '2330');
  t.is(deviceIdOf('0x2330'), '2330');
  t.is(deviceIdOf('0x20B0'), '20b0');
});

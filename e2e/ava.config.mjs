// The end-to-end tests (npm run test:e2e): real VMs, one after another, minutes each.
export default {
  files: ['e2e/**/*.e2e.ts'],
  extensions: { ts: 'commonjs' },
  nodeArguments: ['--import=tsx'],
  timeout: '45m',
  concurrency: 1,
  verbose: true,
};

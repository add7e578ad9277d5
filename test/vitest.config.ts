import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    include: ['test/**/*.test.ts'],
    // Real pip installs and real containers: generous per-test limits, no timing assertions.
    testTimeout: 300_000,
    hookTimeout: 600_000,
    pool: 'forks',
    maxWorkers: 2,
    env: { PIP_RETRIES: '0', PIP_DISABLE_PIP_VERSION_CHECK: '1' },
    // One private dependency cache for the whole run, never the user's.
    globalSetup: ['test/helpers/global-setup.ts'],
  },
});

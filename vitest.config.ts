import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/property/**/*.test.ts'],
          exclude: ['test/property/**/*.db.test.ts'],
          setupFiles: ['test/support/fast-check-setup.ts'],
          testTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/property/**/*.db.test.ts'],
          setupFiles: ['test/support/fast-check-setup.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          // The pack-install-run step (issue 17): agate packed, installed into a copy of
          // examples/harvest, its tests, `agate rules check`, then `agate serve` from its config.
          name: 'package',
          include: ['test/package/**/*.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          // Faults, load, attacks and bad input (issue 9); AGATE_SOAK=1 runs the heavy variants.
          name: 'reliability',
          include: ['test/reliability/**/*.test.ts'],
          setupFiles: ['test/support/fast-check-setup.ts'],
          globalSetup: [
            'test/support/global-setup.ts',
            'test/reliability/support/summary-setup.ts',
          ],
          testTimeout: 300_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});

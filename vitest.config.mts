import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // SWC compiles the tests: NestJS needs decorator metadata, which esbuild does not emit.
  plugins: [swc.vite()],
  test: {
    include: ['packages/*/src/**/*.spec.ts', 'apps/*/src/**/*.spec.ts', 'test/**/*.test.ts'],
    // End-to-end tests start real ranks; two cores are shared between them.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ['default', './test/support/summary-reporter.mts'],
  },
});

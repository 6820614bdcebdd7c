/** @jest-config-loader esbuild-register */
// esbuild-register loads this file without type-checking it, which keeps jest's start-up fast.
import type { Config } from 'jest';

const config: Config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/spec'],
  testMatch: ['**/*.spec.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }] },
  reporters: ['default', '<rootDir>/spec/support/conformance-reporter.js'],
  globalSetup: '<rootDir>/spec/support/global-setup.ts',
  globalTeardown: '<rootDir>/spec/support/global-teardown.ts',
  setupFilesAfterEnv: ['<rootDir>/spec/support/matchers.ts'],
  testTimeout: 60_000,
  // Two workers on two cores: the suites are CPU-bound JavaScript, and ONNX Runtime's threads mostly wait on them.
  maxWorkers: 2,
};

export default config;

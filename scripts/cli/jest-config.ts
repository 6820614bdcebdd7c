/**
 * The jest configuration of the spec, built in code: jest.config.ts (npm test in the checkout) and
 * `gpt2-spec check` (runCLI, wherever the package is installed) share it, so that the command never
 * has to parse a TypeScript config file inside someone else's node_modules.
 */
import { join } from 'node:path';
import type { Config } from 'jest';

/**
 * The end-to-end suites: each runs whole commands, runner processes, other languages' runners or a browser,
 * for a minute or so. `npm test` runs the specification and the unit suites of its tools (the `spec`
 * project); `npm run test:e2e` runs these (the `e2e` project); CI runs both, and plain `npx jest` too.
 */
export const END_TO_END_SUITES = ['84-ci', '85-browser', '86-other-languages', '87-verdict', '88-runner-protocol', '90-mutants', '96-cli'];

const endToEnd = `/spec/(${END_TO_END_SUITES.join('|')})\\.spec\\.ts$`;

/** The whole configuration, as jest.config.ts gives it: the two projects, and the run's reporters and workers. */
export function jestConfig(rootDir: string): Config {
  const project = jestProjectConfig(rootDir);
  return {
    projects: [
      { ...project, displayName: 'spec', testPathIgnorePatterns: [...(project.testPathIgnorePatterns ?? []), endToEnd] },
      { ...project, displayName: 'e2e', testRegex: endToEnd, testMatch: undefined },
    ],
    reporters: ['default', '<rootDir>/spec/support/conformance-reporter.js'],
    // Two workers on two cores: the suites are CPU-bound JavaScript, and ONNX Runtime's threads mostly wait on them.
    maxWorkers: 2,
    // The end-to-end suites first, slowest first, whatever jest's cache of suite times says (see the file).
    testSequencer: '<rootDir>/spec/support/sequencer.js',
  };
}

/** The project's part alone: runCLI takes the run's options (reporters, workers) beside it, and warns about them inside it. */
export function jestProjectConfig(rootDir: string): Config {
  return {
    rootDir,
    // jest's node environment on a plain vm context: the runners' loops run at Node's speed (see the file).
    testEnvironment: '<rootDir>/spec/support/environment.ts',
    roots: ['<rootDir>/spec'],
    testMatch: ['**/*.spec.ts'],
    transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }] },
    globalSetup: '<rootDir>/spec/support/global-setup.ts',
    globalTeardown: '<rootDir>/spec/support/global-teardown.ts',
    setupFilesAfterEnv: ['<rootDir>/spec/support/matchers.ts'],
    testTimeout: 60_000,
    // Installed as a dependency, the spec and the runners' sources are themselves inside node_modules, which
    // jest leaves out of its file map, its test paths and its transforms by default: only the package's own
    // node_modules stays out.
    haste: { retainAllFiles: true },
    testPathIgnorePatterns: ['<rootDir>/node_modules/'],
    transformIgnorePatterns: ['<rootDir>/node_modules/'],
  };
}

/** What a command's jest run chooses: which spec files and tests, and which part of them. */
export interface SpecRun {
  testPathPatterns: string[];
  testNamePattern?: string;
  shard?: string;
}

/**
 * The options for jest's runCLI in a command (check, mutants): the configuration as an object rather than
 * the package's jest.config.ts, so that no TypeScript config is parsed where the package is installed, and
 * the run's reporters (progress on stderr, the conformance report).
 */
export function specRunArgv(root: string, run: SpecRun): Record<string, unknown> {
  return {
    _: [],
    $0: 'gpt2-spec',
    ci: true,
    silent: true,
    testPathPatterns: run.testPathPatterns,
    testNamePattern: run.testNamePattern,
    reporters: [join(root, 'spec/support/progress-reporter.js'), join(root, 'spec/support/conformance-reporter.js')],
    rootDir: root,
    config: JSON.stringify(jestProjectConfig(root)),
    maxWorkers: jestConfig(root).maxWorkers,
    ...(run.shard ? { shard: run.shard } : {}),
  };
}

/** @jest-config-loader esbuild-register */
// esbuild-register loads this file without type-checking it, which keeps jest's start-up fast.
// The configuration itself is shared with `gpt2-spec check`: scripts/cli/jest-config.ts.
import { jestConfig } from './scripts/cli/jest-config';

export default jestConfig(__dirname);

// Builds the package: the command line into dist/cli.js and the adapter API into dist/index.js, with esbuild
// (one file each, npm packages left as imports), and the API's type declarations into dist/types with tsc.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { buildSync } from 'esbuild';

const common = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', packages: 'external', sourcemap: 'linked', logLevel: 'warning' };
buildSync({ ...common, entryPoints: ['scripts/cli/main.ts'], outfile: 'dist/cli.js' });
buildSync({ ...common, entryPoints: ['runners/index.ts'], outfile: 'dist/index.js' });
// The runner protocol's own processes: the Node host for adapter modules, and the tokenizer bridge's worker.
buildSync({ ...common, entryPoints: ['runners/protocol/host.ts'], outfile: 'dist/host.js' });
buildSync({ ...common, entryPoints: ['runners/protocol/sync-worker.ts'], outfile: 'dist/sync-worker.js' });
buildSync({ ...common, entryPoints: ['scripts/cli/tokenize-worker.ts'], outfile: 'dist/tokenize-worker.js' });
// The browser host, which runs an adapter inside a page of headless Chromium (docs/browser.md).
buildSync({ ...common, entryPoints: ['runners/browser/browser-host.ts'], outfile: 'dist/browser-host.js' });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });

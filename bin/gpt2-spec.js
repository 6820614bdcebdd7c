#!/usr/bin/env node
// The gpt2-spec command. dist/cli.js is built from scripts/cli/ by `npm run build` (run by npm ci's prepare step).
process.env.GPT2_SPEC_CLI_MAIN = '1';
require('../dist/cli.js');

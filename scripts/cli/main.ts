/**
 * The gpt2-spec command: conformance checks for any GPT-2 implementation, and the tools around them.
 * Every command has --help; a usage or set-up problem prints one line and exits 2.
 */
import { Gpt2SpecError } from '../../runners/errors';
import { UsageError } from './args';
import { check, checkHelp } from './check';
import { compare, compareHelp } from './compare';
import { fixtures, fixturesHelp } from './fixtures';
import { generate, generateHelp } from './generate';
import { mutants, mutantsHelp } from './mutants';
import { report, reportHelp } from './report';
import { detokenize, detokenizeHelp, tokenize, tokenizeHelp } from './tokenize';

const COMMANDS: Record<string, { run: (argv: string[]) => Promise<number>; help: () => string; summary: string }> = {
  check: { run: check, help: checkHelp, summary: 'check runners and tokenizers against the golden fixtures, building block by building block' },
  compare: { run: compare, help: compareHelp, summary: 'compare runners with the float64 reference on any checkpoint, and name where they diverge' },
  mutants: { run: mutants, help: mutantsHelp, summary: 'run the spec on the catalogue of planted bugs and print the kill matrix' },
  generate: { run: generate, help: generateHelp, summary: 'continue a prompt with a runner, token by token' },
  tokenize: { run: tokenize, help: tokenizeHelp, summary: 'text to token ids (a JSON array)' },
  detokenize: { run: detokenize, help: detokenizeHelp, summary: 'token ids to text' },
  fixtures: { run: fixtures, help: fixturesHelp, summary: 'fixtures verify: check every fixture file against its sha256' },
  report: { run: report, help: reportHelp, summary: "report merge: the shards' JSON reports of one run as one report and one verdict" },
};

function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length)) + 2;
  return [
    'usage: gpt2-spec <command> [options]',
    '',
    "An executable specification of GPT-2's building blocks: golden fixtures from Hugging Face transformers (float64)",
    'pin what every component must output, and any implementation can be checked against them.',
    '',
    'commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}${c.summary}`),
    '',
    "Run 'gpt2-spec <command> --help' for a command's options, and 'gpt2-spec --version' for the version.",
    '',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V') {
    process.stdout.write(`gpt2-spec ${(require('../../package.json') as { version: string }).version}\n`);
    return 0;
  }
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(mainHelp());
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`gpt2-spec: unknown command '${name}' (commands: ${Object.keys(COMMANDS).join(', ')})\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.help());
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (e) {
    if (e instanceof UsageError || e instanceof Gpt2SpecError) {
      process.stderr.write(`gpt2-spec ${name}: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

/** The status of a process that a closed pipe ended (128 + SIGPIPE): never 0, so a verdict that could not be read never passes. */
export const CLOSED_PIPE_STATUS = 141;

if (require.main === module || process.env.GPT2_SPEC_CLI_MAIN === '1') {
  // A reader that stops early (`| head`) closes the pipe: end as a pipe's writer does, without a stack trace.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(CLOSED_PIPE_STATUS);
  });
  let finished = false;
  // If the event loop empties while a command still awaits (a promise that never settles), say so and fail.
  process.on('beforeExit', () => {
    if (finished) return;
    finished = true;
    process.stderr.write('gpt2-spec: stopped with work still pending (a promise that never settled)\n');
    process.exitCode = 1;
  });
  main(process.argv.slice(2)).then(
    (code) => {
      finished = true;
      process.exitCode = code;
    },
    (e: unknown) => {
      finished = true;
      process.stderr.write(`gpt2-spec: ${(e as Error)?.stack ?? String(e)}\n`);
      process.exitCode = 1;
    },
  );
}

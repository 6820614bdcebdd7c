/**
 * Adapter modules for the mutation catalogue, written on demand: GPT2_SPEC_RUNNERS takes adapter paths,
 * and one small file per runner is how a mutant at a precision gets there.
 */
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../../runners/paths';
import { CORRECT_RUNNER, type Precision } from './catalogue';

// Found from the package root, not __dirname: the command line runs this module bundled into bin/.
const catalogue = join(packageRoot(), 'spec/support/mutants/catalogue.ts');

function write(dir: string, file: string, factory: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${file}.ts`);
  writeFileSync(path, `import * as catalogue from ${JSON.stringify(catalogue)};\nexport default () => catalogue.${factory};\n`);
  return path;
}

/** The adapter of one mutant at one precision. */
export const mutantAdapter = (dir: string, name: string, precision: Precision): string =>
  write(dir, `${name.replace(/\W/g, '_')}-${precision}`, `mutantRunner(${JSON.stringify(name)}, ${JSON.stringify(precision)})`);

/** The adapter of the correct runner of a precision ('reference' is built in; the float32 one is not). */
export const correctAdapter = (dir: string, precision: Precision): string =>
  precision === 'float64' ? CORRECT_RUNNER.float64 : write(dir, 'reference-float32', `correctRunner('float32')`);

/** The small-vocabulary fixture models, on which the catalogue runs. */
export const SMALL_MODELS = ['gpt2-mini', 'gpt2-sharp'];

/** A fixtures folder under `dir` with only some models: the manifest filtered, the model and case files linked. */
export function fixturesWith(models: string[], dir: string): string {
  const root = join(packageRoot(), 'fixtures');
  const manifest = JSON.parse(readFileSync(join(root, 'manifest.json'), 'utf8')) as { models: Record<string, { path: string }>; cases: { model: string; file: string }[]; files: Record<string, string> };
  const unknown = models.filter((m) => !Object.hasOwn(manifest.models, m));
  if (unknown.length) throw new Error(`no fixture model ${unknown.join(', ')} (models: ${Object.keys(manifest.models).join(', ')})`);
  const out = join(dir, 'fixtures');
  mkdirSync(out, { recursive: true });
  for (const sub of ['models', 'cases']) symlinkSync(join(root, sub), join(out, sub));
  const cases = manifest.cases.filter((c) => models.includes(c.model));
  // The files it keeps keep their sha256s, so that the run verifies them as it verifies the shipped ones.
  const keptFiles = new Set([...cases.map((c) => c.file), ...models.flatMap((m) => [`${manifest.models[m]!.path}/config.json`, `${manifest.models[m]!.path}/model.safetensors`])]);
  const files = Object.fromEntries(Object.entries(manifest.files).filter(([f]) => keptFiles.has(f)));
  const kept = { ...manifest, models: Object.fromEntries(models.map((m) => [m, manifest.models[m]])), cases, files };
  writeFileSync(join(out, 'manifest.json'), JSON.stringify(kept));
  return out;
}

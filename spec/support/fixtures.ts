/**
 * The golden fixtures: the manifest, the seeded checkpoints and the cases, all written by the
 * reference generator (scripts/fixtures/generate.py) from Hugging Face's GPT2LMHeadModel in float64.
 * Cases are discovered from the manifest, never listed by hand.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DType, Gpt2Config, Gpt2Weights, Tensor } from '../../runners/contract';
import { FixtureError } from '../../runners/errors';
import { fixturesRoot } from '../../runners/paths';
import { loadCheckpoint } from '../../runners/weights/checkpoint';
import { readSafetensors, type SafetensorsFile } from '../../runners/weights/safetensors';

export interface Tolerance {
  atol: number;
  rtol: number;
}

export interface CaseInfo {
  model: string;
  name: string;
  file: string;
  kind: 'forward' | 'layer-norm';
  description: string;
  text?: string;
  texts?: string[];
  batch: number;
  tokens: number;
  newTokens?: number;
}

export interface Manifest {
  formatVersion: number;
  generator: { command: string; versions: Record<string, string> };
  tolerances: Record<'float32' | 'float64', Record<string, Tolerance>>;
  notes: Record<string, string>;
  models: Record<string, { path: string; config: Gpt2Config }>;
  cases: CaseInfo[];
  files: Record<string, string>;
  [extra: string]: unknown;
}

/** The fixtures folder: GPT2_SPEC_FIXTURES, or the shipped one. */
export const fixturesDir = (): string => fixturesRoot();

let manifest: Manifest | undefined;

/** Forgets the manifest read so far, for a test that points GPT2_SPEC_FIXTURES elsewhere. */
export function forgetManifest(): void {
  manifest = undefined;
}

export function loadManifest(): Manifest {
  if (manifest) return manifest;
  const path = join(fixturesDir(), 'manifest.json');
  if (!existsSync(path)) throw new FixtureError(`${path}: no fixture manifest (run npm run fixtures:generate)`);
  let parsed: Manifest;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8')) as Manifest;
  } catch (e) {
    throw new FixtureError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new FixtureError(`${path}: the manifest is not a JSON object`);
  if (parsed.formatVersion !== 1) throw new FixtureError(`${path}: unsupported formatVersion ${String(parsed.formatVersion)}`);
  const missing = (['generator', 'tolerances', 'models', 'cases', 'files'] as const).filter((k) => typeof parsed[k] !== 'object' || parsed[k] === null);
  if (missing.length > 0) throw new FixtureError(`${path}: the manifest lacks ${missing.join(', ')}`);
  manifest = parsed; // kept only once it is known to be a manifest
  return manifest;
}

/** The tolerance of a component for an output of the given dtype: float64 outputs get the float64 table, all others float32. */
export function tolerance(component: string, dtype: DType): Tolerance {
  const table = loadManifest().tolerances[dtype === 'float64' ? 'float64' : 'float32'];
  const t = table[component];
  if (!t) throw new FixtureError(`the manifest has no ${dtype} tolerance for component '${component}'`);
  return t;
}

const models = new Map<string, Gpt2Weights>();

export function loadModel(name: string): Gpt2Weights {
  let w = models.get(name);
  if (!w) {
    const info = loadManifest().models[name];
    if (!info) throw new FixtureError(`the manifest has no model '${name}'`);
    w = loadCheckpoint(join(fixturesDir(), info.path));
    models.set(name, w);
  }
  return w;
}

export const modelNames = (): string[] => Object.keys(loadManifest().models);

/** The cases of one kind, optionally for one model. */
export function cases(kind: CaseInfo['kind'], model?: string): CaseInfo[] {
  return loadManifest().cases.filter((c) => c.kind === kind && (model === undefined || c.model === model));
}

export interface GoldenCase {
  info: CaseInfo;
  config: Gpt2Config;
  /** Test titles name a case as model/case. */
  id: string;
  has(key: string): boolean;
  keys(): string[];
  get(key: string): Tensor;
}

const opened = new Map<string, SafetensorsFile>();
const decoded = new Map<string, Tensor>();

export function openCase(info: CaseInfo): GoldenCase {
  const path = join(fixturesDir(), info.file);
  let file = opened.get(path);
  if (!file) {
    if (!existsSync(path)) throw new FixtureError(`${path}: missing case file`);
    file = readSafetensors(readFileSync(path), path);
    opened.set(path, file);
  }
  const names = new Set(file.names());
  const f = file;
  return {
    info,
    config: loadManifest().models[info.model]!.config,
    id: `${info.model}/${info.name}`,
    has: (key) => names.has(key),
    keys: () => [...names].sort(),
    get(key) {
      if (!names.has(key)) throw new FixtureError(`${path}: no golden tensor '${key}'`);
      // Decoded once per file and key: the logits of the real-vocabulary model are megabytes, read by many tests.
      let t = decoded.get(`${path}:${key}`);
      if (!t) decoded.set(`${path}:${key}`, (t = f.get(key)));
      // A copy each time: a runner that writes into its input must not change the golden for the next test.
      return { dtype: t.dtype, shape: t.shape, data: t.data.slice() };
    },
  };
}

/** Files whose sha256 does not match the manifest (or that are missing). */
export function verifyFixtureHashes(): { file: string; problem: string }[] {
  const bad: { file: string; problem: string }[] = [];
  for (const [file, sha] of Object.entries(loadManifest().files)) {
    const path = join(fixturesDir(), file);
    if (!existsSync(path)) bad.push({ file, problem: 'missing' });
    else if (createHash('sha256').update(readFileSync(path)).digest('hex') !== sha) bad.push({ file, problem: 'sha256 differs' });
  }
  return bad;
}

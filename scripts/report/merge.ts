/**
 * One report, and one verdict, from the JSON reports of several runs: the shards of `check --shard i/n`,
 * each run by a job of the CI system's own matrix. The merged verdict is judged again from the parts'
 * results and tests, exactly as a single run's would be: a shard's "nothing checked in this shard" is
 * judged over the whole run, and the baseline is applied to the whole run.
 */
import { readFileSync } from 'node:fs';
import { Gpt2SpecError } from '../../runners/errors';
import type { BaselineUse } from './baseline';
import { buildReport, type ProbeState, type Report, type ResultEntry, type TestOutcome } from './model';

/** A Gpt2SpecError: the command prints it as one line, exit 2. */
export class MergeError extends Gpt2SpecError {}

export interface NamedReport {
  path: string;
  report: Report;
}

/** Reads one JSON report, refusing a file that is not one (docs/report-schema.md). */
export function readReport(path: string): NamedReport {
  let report: Partial<Report>;
  try {
    report = JSON.parse(readFileSync(path, 'utf8')) as Partial<Report>;
  } catch (e) {
    throw new MergeError(`${path}: not a JSON report (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const arrays = ['runners', 'tokenizers', 'results', 'tests'] as const;
  if (typeof report !== 'object' || report === null || report.schemaVersion !== 1 || arrays.some((k) => !Array.isArray(report[k]))) {
    throw new MergeError(`${path}: not a gpt2-spec JSON report (schemaVersion 1 with runners, tokenizers, results and tests)`);
  }
  return { path, report: report as Report };
}

export function mergeReports(parts: NamedReport[], options: { baseline?: BaselineUse } = {}): Report {
  if (parts.length === 0) throw new MergeError('no reports to merge');
  const fixtures = sameFixtures(parts);
  checkShards(parts);
  checkDisjoint(parts);
  const baseline = options.baseline ?? sameBaseline(parts);
  // What the spec recorded, before any baseline: the merge derives and judges again.
  const records: ResultEntry[] = parts.flatMap(({ report }) => report.results.filter((r) => !r.derived).map(unjudged));
  const tests: TestOutcome[] = parts.flatMap(({ report }) => report.tests.map(({ expectedFailure: _, ...t }) => t));
  return buildReport(records, probeOf(parts), tests, { stderr: stderrOf(parts), fixtures, baseline });
}

function unjudged(r: ResultEntry): ResultEntry {
  if (r.status !== 'expected-fail') return r;
  const { was, expectedReason: _, ...rest } = r;
  return { ...rest, status: was ?? 'fail' };
}

function sameFixtures(parts: NamedReport[]): Report['fixtures'] {
  const first = parts[0]!;
  for (const p of parts.slice(1)) {
    const [a, b] = [first.report.fixtures, p.report.fixtures];
    if (a?.manifestSha256 !== b?.manifestSha256 || a?.tolerancesSha256 !== b?.tolerancesSha256) {
      throw new MergeError(`${first.path} and ${p.path} were checked against different fixtures (manifest ${a?.manifestSha256?.slice(0, 12) ?? 'unknown'} vs ${b?.manifestSha256?.slice(0, 12) ?? 'unknown'})`);
    }
  }
  return first.report.fixtures;
}

/** Shards merge only whole: every one of 1..n, each once, all of the same n. */
function checkShards(parts: NamedReport[]): void {
  const sharded = parts.filter((p) => p.report.shard);
  if (sharded.length === 0) return;
  if (sharded.length !== parts.length) throw new MergeError(`${parts.find((p) => !p.report.shard)!.path} is not a shard, but ${sharded[0]!.path} is: merge the shards of one run`);
  const n = sharded[0]!.report.shard!.count;
  const seen = new Map<number, string>();
  for (const p of sharded) {
    const { index, count } = p.report.shard!;
    if (count !== n) throw new MergeError(`${p.path} is shard ${index}/${count}, but ${sharded[0]!.path} is of ${n}`);
    if (seen.has(index)) throw new MergeError(`shard ${index}/${n} is given twice: ${seen.get(index)} and ${p.path}`);
    seen.set(index, p.path);
  }
  const missing = Array.from({ length: n }, (_, i) => i + 1).filter((i) => !seen.has(i));
  if (missing.length) throw new MergeError(`shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${n}`).join(', ')} missing: a merged verdict needs every part`);
}

/** The same test in two reports means two runs of one part, not parts of one run. */
function checkDisjoint(parts: NamedReport[]): void {
  const owner = new Map<string, string>();
  for (const p of parts) {
    for (const t of p.report.tests) {
      const key = `${t.file}\u0000${t.fullName}`;
      const other = owner.get(key);
      if (other && other !== p.path) throw new MergeError(`${other} and ${p.path} both ran "${t.fullName}": merge the parts of one run, not two runs of the same part`);
      owner.set(key, p.path);
    }
  }
}

function sameBaseline(parts: NamedReport[]): BaselineUse | undefined {
  const used = parts.map((p) => p.report.baseline);
  const first = used[0];
  parts.forEach((p, i) => {
    if (used[i]?.sha256 !== first?.sha256 || used[i]?.strict !== first?.strict) {
      throw new MergeError(`${parts[0]!.path} and ${p.path} were judged with different baselines (or one with --strict): give the merge one with --baseline`);
    }
  });
  return first && { ...first, entries: first.entries.map((e) => ({ ...e, outcome: 'not-run' as const, failures: 0, passes: 0 })) };
}

/** The runners as one probe would have seen them: available if any part ran them. */
function probeOf(parts: NamedReport[]): ProbeState[] {
  const byName = new Map<string, ProbeState>();
  for (const { report } of parts) {
    for (const r of report.runners) {
      const had = byName.get(r.name);
      const available = r.status !== 'unavailable';
      if (!had || (had.status === 'unavailable' && available)) {
        byName.set(r.name, { id: r.name, name: r.name, backend: r.backend, status: available ? 'available' : 'unavailable', reason: r.idle ? undefined : r.reason, notExposed: [...r.notExposed], unsupportedModels: { ...r.unsupportedModels } });
      } else {
        had.notExposed = [...new Set([...had.notExposed, ...r.notExposed])];
        had.unsupportedModels = { ...had.unsupportedModels, ...r.unsupportedModels };
      }
    }
  }
  return [...byName.values()];
}

function stderrOf(parts: NamedReport[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { path, report } of parts) {
    const label = report.shard ? `shard ${report.shard.index}/${report.shard.count}` : path;
    for (const r of report.runners) if (r.stderr) out[r.name] = `${out[r.name] ?? ''}[${label}]\n${r.stderr}`;
  }
  return out;
}

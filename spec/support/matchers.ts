/** The `toMatchGolden` matcher: allclose against a golden tensor, recorded for the conformance report. */
import { expect } from '@jest/globals';
import type { Tensor } from '../../runners/contract';
import { compareTensors, describeComparison } from './compare';
import { tolerance, type Tolerance } from './fixtures';
import { record } from './record';

export interface GoldenExpectation {
  /** The golden tensor's name, e.g. 'h.0.attn.weights'. */
  tensor: string;
  /** The component whose tolerance applies, e.g. 'attention.weights'. */
  component: string;
  runner: string;
  case: string;
  /** Overrides the manifest's tolerance (only the tolerance tests themselves do this). */
  tolerance?: Tolerance;
  /** Keep the runner's output in the record, for the HTML report's pictures (small tensors only). */
  keep?: boolean;
}

function toMatchGolden(actual: unknown, expected: Tensor, how: GoldenExpectation) {
  const dtype = (actual as Tensor | undefined)?.dtype ?? 'float32';
  const tol = how.tolerance ?? tolerance(how.component, dtype);
  const c = compareTensors(actual, expected, tol);
  record({
    runner: how.runner,
    component: how.component,
    case: how.case,
    tensor: how.tensor,
    status: c.pass ? 'pass' : 'fail',
    maxAbsError: c.maxAbsError,
    maxRelError: c.maxRelError,
    usage: c.usage,
    tolerance: tol,
    reason: c.pass ? undefined : describeComparison(how.tensor, c, tol),
    sample: how.keep && c.problem === undefined ? { shape: [...(actual as Tensor).shape], data: Array.from((actual as Tensor).data) } : undefined,
  });
  return { pass: c.pass, message: () => describeComparison(`${how.tensor} (${how.runner}, ${how.case})`, c, tol) };
}

/** Token ids must match exactly: a generated continuation, or a greedy choice. */
function toEqualGoldenIds(actual: unknown, expected: readonly (readonly number[])[], how: Omit<GoldenExpectation, 'tolerance'>) {
  const a = actual as number[][];
  const pass = Array.isArray(a) && a.length === expected.length && expected.every((row, b) => row.length === a[b]?.length && row.every((id, t) => a[b]![t] === id));
  const firstDiff = () => {
    for (let b = 0; b < expected.length; b++) {
      const t = expected[b]!.findIndex((id, i) => a?.[b]?.[i] !== id);
      if (t >= 0) return `sequence ${b}, position ${t}: got ${a?.[b]?.[t]}, golden ${expected[b]![t]}`;
    }
    return 'the lengths differ';
  };
  record({ runner: how.runner, component: how.component, case: how.case, tensor: how.tensor, status: pass ? 'pass' : 'fail', reason: pass ? undefined : firstDiff() });
  return { pass, message: () => `${how.tensor} (${how.runner}, ${how.case}): ${pass ? 'ids match' : firstDiff()}\n  got    ${JSON.stringify(a)}\n  golden ${JSON.stringify(expected)}` };
}

expect.extend({ toMatchGolden, toEqualGoldenIds });

declare module 'expect' {
  interface Matchers<R> {
    toMatchGolden(expected: Tensor, how: GoldenExpectation): R;
    toEqualGoldenIds(expected: readonly (readonly number[])[], how: Omit<GoldenExpectation, 'tolerance'>): R;
  }
}

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
  });
  return { pass: c.pass, message: () => describeComparison(`${how.tensor} (${how.runner}, ${how.case})`, c, tol) };
}

expect.extend({ toMatchGolden });

declare module 'expect' {
  interface Matchers<R> {
    toMatchGolden(expected: Tensor, how: GoldenExpectation): R;
  }
}

/** A correct runner (the reference) with one method replaced: what each hostile adapter here starts from. */
import type { Gpt2Runner } from '../../../../runners/contract';
import { ReferenceRunner } from '../../../../runners/reference/runner';

export function referenceWith(name: string, replaced: Partial<Record<keyof Gpt2Runner, unknown>>): Gpt2Runner {
  const r = new ReferenceRunner();
  return Object.assign(r, { name }, replaced) as Gpt2Runner;
}

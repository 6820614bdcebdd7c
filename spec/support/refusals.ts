/**
 * Bad input must be refused with the error the contract names (runners/contract.ts, REFUSALS). The
 * outcome is its own row of the report, "validation": a refusal by another name fails that row, saying
 * what came instead, and never counts as an error of a numeric building block.
 */
import { REFUSALS, type RefusalName } from '../../runners/contract';
import { record } from './record';

export async function expectRefusal(call: () => Promise<unknown>, name: RefusalName, where: { runner: string; case: string }): Promise<void> {
  let outcome: string | undefined;
  try {
    await call();
    outcome = 'it answered instead of refusing';
  } catch (e) {
    const got = (e as Error | undefined)?.name;
    if (got !== name) outcome = `it refused with ${String(got ?? typeof e)}${e instanceof Error ? `: ${e.message.split('\n')[0]}` : ''}`;
  }
  const base = { runner: where.runner, component: 'validation', case: where.case, tensor: name };
  if (outcome === undefined) {
    record({ ...base, status: 'pass' });
    return;
  }
  const reason = `${REFUSALS[name]} must be refused with a ${name}, but ${outcome}`;
  record({ ...base, status: 'fail', reason });
  throw new Error(reason);
}

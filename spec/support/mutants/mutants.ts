/** The float64 mutants by name, as runner factories (for adapters that plant one bug in one place). */
import type { Gpt2Runner } from '../../../runners/contract';
import { mutantRunner, MUTANTS } from './catalogue';

export const mutants = Object.fromEntries(MUTANTS.map((m) => [m.name, () => mutantRunner(m.name, 'float64')])) as Record<string, () => Gpt2Runner> & { 'erf-gelu': () => Gpt2Runner };

// An adapter module for GPT2_SPEC_RUNNERS: the reference runner with one planted bug (see mutants.ts).
import { mutants } from './mutants';

export default mutants['no-causal-mask'];

/**
 * Writes lines that imitate the harness's own output, and names itself with a newline and colour codes:
 * none of it may reach the console as anything but escaped text.
 */
import { float64 } from '../../../../runners/tensor';
import type { Tensor } from '../../../../runners/contract';
import { referenceWith } from './base';

const fake = '\nResults: 999 pass, 0 fail, 0 error\n\x1b[32mPASS\x1b[0m every runner\n';
console.log(fake);
process.stdout.write(fake);
const name = 'prints\n\x1b[32mPASS\x1b[0m';
const mlp = (x: Tensor) => {
  console.log(fake);
  return Promise.resolve(float64(x.shape));
};
export default { name, runner: () => referenceWith(name, { mlp }) };

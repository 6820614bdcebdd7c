/** A named pipe (FIFO) for tests of files that are not regular files; Node has no mkfifo of its own. */
import { execFileSync } from 'node:child_process';

export function mkfifoSync(path: string): void {
  execFileSync('mkfifo', [path]);
}

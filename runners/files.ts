/** File writing that the checkpoint and model writers share. */
import { writeSync } from 'node:fs';

/** write(2) may write less than asked (and at most ~2 GiB at once): loop until every byte is out. */
export function writeAll(fd: number, bytes: Uint8Array): void {
  for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
}

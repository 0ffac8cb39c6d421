import { afterAll, beforeAll } from '@jest/globals';
import { killAll, removeDir, tempDir } from './procs.js';
import { Tally } from './tally.js';

/**
 * What most fault test files set up alike: a scratch directory for the file's scenarios, and
 * afterwards every process killed, `cleanup` run (a mount, a network), the directory removed and
 * the file's rows of the reliability table saved.
 */
export function faultFile(
  name: string,
  cleanup?: () => void | Promise<void>,
): { tally: Tally; dir: () => string } {
  const tally = new Tally(name);
  let dir = '';
  beforeAll(async () => {
    dir = await tempDir();
  });
  afterAll(async () => {
    await killAll();
    await cleanup?.();
    await removeDir(dir);
    tally.save();
  });
  return { tally, dir: () => dir };
}

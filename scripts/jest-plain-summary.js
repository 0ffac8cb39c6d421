// Prints `N passed, N failed[, N skipped]` as the very last line, so CI judges the run by
// its counts and not only by the exit code (Jest's own summary goes to stderr).
import { writeSync } from 'node:fs';

export default class PlainSummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const line = `${results.numPassedTests} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`;
    process.once('exit', () => writeSync(1, line));
  }
}

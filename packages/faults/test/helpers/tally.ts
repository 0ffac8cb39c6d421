import {
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** packages/faults/dist-test/reliability/ (build output: rewritten on every run). */
export const REPORT_DIR = join(here, '..', 'reliability');
/** The suite's counts, merged over every test file that ran. */
export const REPORT_FILE = join(REPORT_DIR, 'faults-report.json');
/** The same as a Markdown table, ready to paste into docs/reliability.md. */
export const TABLE_FILE = join(REPORT_DIR, 'faults-report.md');

export interface ScenarioRow {
  scenario: string;
  injected: string;
  mustHold: string;
  result: 'pass' | 'fail' | 'skipped';
  faults: number;
  badInputs: number;
  wrongBytes: number;
  crashes: number;
  note?: string;
}

/**
 * Counts for the reliability table. Each test file records its scenarios and, in afterAll,
 * `save()`s them as one fragment; the merged report is rewritten under a lock so that jest
 * workers finishing together cannot drop each other's rows.
 */
export class Tally {
  private readonly rows: ScenarioRow[] = [];

  constructor(private readonly file: string) {}

  /** Adds a row; `result` is filled in by `pass()`/`skip()` or stays 'fail'. */
  scenario(scenario: string, injected: string, mustHold: string): ScenarioRow {
    const row: ScenarioRow = {
      scenario,
      injected,
      mustHold,
      result: 'fail',
      faults: 0,
      badInputs: 0,
      wrongBytes: 0,
      crashes: 0,
    };
    this.rows.push(row);
    return row;
  }

  save(): void {
    mkdirSync(join(REPORT_DIR, 'fragments'), { recursive: true });
    const fragment = join(REPORT_DIR, 'fragments', `${this.file}.json`);
    writeFileSync(`${fragment}.tmp`, JSON.stringify(this.rows, null, 2));
    renameSync(`${fragment}.tmp`, fragment);
    withLock(() => writeMerged());
  }
}

function withLock(fn: () => void): void {
  const lock = join(REPORT_DIR, '.lock');
  for (let i = 0; i < 200; i++) {
    try {
      mkdirSync(lock);
    } catch {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 25);
      continue;
    }
    try {
      fn();
    } finally {
      rmdirSync(lock);
    }
    return;
  }
  // A lock left by a killed run: merge anyway rather than lose the counts.
  fn();
}

function writeMerged(): void {
  const dir = join(REPORT_DIR, 'fragments');
  const rows: ScenarioRow[] = [];
  for (const name of readdirSync(dir)
    .filter((n) => n.endsWith('.json'))
    .sort()) {
    rows.push(...(JSON.parse(readFileSync(join(dir, name), 'utf8')) as ScenarioRow[]));
  }
  const sum = (k: 'faults' | 'badInputs' | 'wrongBytes' | 'crashes') =>
    rows.reduce((n, r) => n + r[k], 0);
  const report = {
    generatedAt: new Date().toISOString(),
    scenariosRun: rows.filter((r) => r.result !== 'skipped').length,
    scenariosPassed: rows.filter((r) => r.result === 'pass').length,
    scenariosSkipped: rows.filter((r) => r.result === 'skipped').length,
    faultsInjected: sum('faults'),
    badInputsTried: sum('badInputs'),
    wrongBytesWritten: sum('wrongBytes'),
    crashes: sum('crashes'),
    scenarios: rows,
  };
  writeFileSync(`${REPORT_FILE}.tmp`, `${JSON.stringify(report, null, 2)}\n`);
  renameSync(`${REPORT_FILE}.tmp`, REPORT_FILE);
  const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const table = [
    '| scenario | injected | must hold | result | faults | bad inputs | wrong bytes | crashes |',
    '|---|---|---|---|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${cell(r.scenario)} | ${cell(r.injected)} | ${cell(r.mustHold)} | ${r.result}` +
        `${r.note ? ` (${cell(r.note)})` : ''} | ${r.faults} | ${r.badInputs} | ${r.wrongBytes} |` +
        ` ${r.crashes} |`,
    ),
    '',
    `Scenarios run: ${report.scenariosRun} (passed ${report.scenariosPassed}, skipped ` +
      `${report.scenariosSkipped}); faults injected: ${report.faultsInjected}; bad inputs ` +
      `tried: ${report.badInputsTried}; wrong bytes written: ${report.wrongBytesWritten}; ` +
      `crashes: ${report.crashes}.`,
    '',
  ].join('\n');
  writeFileSync(TABLE_FILE, table);
}

// A jest reporter that prints the conformance matrix after jest's own output, and writes the report
// files the command line asks for (GPT2_SPEC_REPORT_JSON / _JUNIT / _HTML).
// The report itself is TypeScript (scripts/report/), loaded through esbuild-register.
const { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { dirname, join } = require('node:path');

// The reporter's own copy of model.ts's SUITE_FAILED (this file is plain JavaScript, loaded before esbuild-register).
const SUITE_FAILED = 'the suite failed to run';

function loadReportModules() {
  // Installed as a dependency, the report's sources are inside node_modules, which esbuild-register skips by default.
  require('esbuild-register/dist/node').register({ target: 'node20', hookIgnoreNodeModules: false });
  return require('../../scripts/report/write.ts');
}

class ConformanceReporter {
  constructor() {
    // The spec appends its records to this file; the workers inherit the variable.
    if (!process.env.GPT2_SPEC_RECORD) {
      process.env.GPT2_SPEC_RECORD = join(mkdtempSync(join(tmpdir(), 'gpt2-spec-record-')), 'records.jsonl');
      writeFileSync(process.env.GPT2_SPEC_RECORD, '');
    }
    this.tests = [];
  }

  onTestResult(test, result) {
    for (const t of result.testResults) {
      this.tests.push({
        fullName: t.fullName,
        title: t.title,
        ancestors: t.ancestorTitles,
        file: test.path,
        status: t.status,
        failureMessages: t.failureMessages,
        durationMs: t.duration ?? undefined,
      });
    }
    if (result.testExecError) {
      this.tests.push({ fullName: test.path, title: SUITE_FAILED, ancestors: [], file: test.path, status: 'failed', failureMessages: [result.testExecError.message] });
    }
  }

  onRunComplete() {
    const file = process.env.GPT2_SPEC_RECORD;
    const records = file && existsSync(file)
      ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => {
        const { kind: _, ...result } = JSON.parse(l);
        return result;
      })
      : [];
    const statePath = process.env.GPT2_SPEC_STATE;
    const probe = statePath && existsSync(statePath) ? JSON.parse(readFileSync(statePath, 'utf8')) : [];
    const { writeReports } = loadReportModules();
    writeReports(records, probe, this.tests, process.env);
    // This reporter is the last reader of the run's record and probe files: remove their temp folders.
    for (const path of [file, statePath]) if (path && /gpt2-spec-/.test(dirname(path))) rmSync(dirname(path), { recursive: true, force: true });
  }
}

module.exports = ConformanceReporter;

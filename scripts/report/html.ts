/** The HTML report: one self-contained page (no network). Filled in by the command-line work; a minimal page for now. */
import { renderMatrix } from './matrix';
import type { Report } from './model';

const escape = (s: string) => s.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!);

export function renderHtml(report: Report): string {
  return `<!doctype html><meta charset="utf-8"><title>gpt2-spec conformance</title><pre>${escape(renderMatrix(report))}</pre>\n`;
}

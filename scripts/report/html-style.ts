/** The HTML report's stylesheet, inlined in the page (no fonts or files are fetched). */
export const CSS = `
:root { --fg:#1d232b; --muted:#5b6570; --line:#d9dee4; --bg:#fff; --soft:#f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: var(--bg); font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1320px; margin: 0 auto; padding: 24px 32px 64px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 40px 0 8px; padding-top: 8px; border-top: 2px solid var(--line); }
h3 { font-size: 16px; margin: 22px 0 6px; }
p { margin: 6px 0 10px; max-width: 980px; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 12.5px; }
a { color: #0b57d0; }
.small, .sub { font-size: 12px; color: var(--muted); font-weight: normal; }
.note { color: #6b4e00; background: #fff8e1; border-left: 3px solid #f0b400; padding: 4px 10px; font-size: 13px; }
.scroll { overflow-x: auto; }
nav.toc { margin: 10px 0 0; font-size: 13px; }
nav.toc a { margin-right: 14px; }
.verdict { display: inline-block; font-weight: 600; padding: 4px 12px; border-radius: 4px; margin: 8px 0; }
.verdict.ok { background: #e3f3e6; color: #17622d; border: 1px solid #9fd3ab; }
.verdict.bad { background: #fde4e4; color: #9d1212; border: 1px solid #f0a3a3; }
.counts { display: flex; flex-wrap: wrap; gap: 8px; margin: 8px 0 4px; padding: 0; list-style: none; }
.counts li { padding: 3px 10px; border-radius: 12px; border: 1px solid var(--line); font-size: 13px; }
.explain { background: var(--soft); border: 1px solid var(--line); border-radius: 6px; padding: 10px 16px; max-width: 1000px; }
table { border-collapse: collapse; }
th, td { text-align: left; vertical-align: top; }
table.runners { width: 100%; max-width: 1250px; }
table.runners td, table.runners th { padding: 4px 14px 4px 0; border-bottom: 1px solid var(--line); font-size: 13px; }
table.runners td:nth-child(-n+2), table.runners td:nth-child(4) { white-space: nowrap; }
table.runners td:nth-child(3) { min-width: 240px; }
table.matrix { margin-top: 6px; }
table.matrix th, table.matrix td { border: 1px solid var(--line); padding: 5px 8px; font-size: 13px; }
table.matrix td, table.matrix thead th { min-width: 112px; max-width: 170px; }
table.matrix thead th code { overflow-wrap: anywhere; }
table.matrix thead th { background: var(--soft); vertical-align: bottom; }
table.matrix th.comp { background: var(--bg); font-weight: normal; }
table.matrix th.comp code { font-weight: 600; font-size: 13px; }
table.matrix th.comp { min-width: 230px; max-width: 320px; }
table.matrix th.comp .sub { display: block; }
table.matrix thead th .sub { display: block; max-width: 140px; }
.st-pass { background: #e3f3e6; color: #17622d; }
.st-fail { background: #fcdcdc; color: #9d1212; font-weight: 600; }
.st-error { background: #efe1fa; color: #5e1d8c; font-weight: 600; }
.st-known-divergence { background: #fff1c9; color: #6b4e00; }
.st-expected-fail { background: #ece4f7; color: #4b2a7a; }
.st-not-exposed { background: #eef0f2; color: #5b6570; }
.st-skipped { background: #eef0f2; color: #5b6570; }
.st-none { color: #a0a7ae; text-align: center; }
.badge { white-space: nowrap; display: inline-block; padding: 0 7px; border-radius: 9px; font-size: 12px; font-weight: 600; }
.legend { display: flex; flex-wrap: wrap; gap: 6px; margin: 8px 0; font-size: 12px; }
.legend span { padding: 2px 8px; border-radius: 4px; border: 1px solid var(--line); }
.comp-card { margin: 18px 0 8px; }
.comp-card h3 { margin-bottom: 2px; }
svg.bars text { font-size: 12px; fill: var(--fg); }
svg.bars .grid { stroke: #e7eaee; }
svg.bars .axis { font-size: 10.5px; fill: var(--muted); }
svg.bars .rlab { font-family: ui-monospace, Menlo, Consolas, monospace; }
svg.bars .val { fill: var(--muted); }
svg.bars .mark10 { stroke: #3b7ddd; stroke-dasharray: 4 3; stroke-width: 1.5; }
svg.bars .mark100 { stroke: #c62828; stroke-width: 2; }
svg.bars .marklab { font-size: 11px; fill: #3b6fb8; }
svg.bars .marklab.tol { fill: #c62828; }
svg.bars .bar-ok { fill: #4caf6a; }
svg.bars .bar-warn { fill: #e0a526; }
svg.bars .bar-fail { fill: #d93636; }
details.cases, details.layer { margin: 4px 0 10px; }
details > summary { cursor: pointer; color: #0b57d0; font-size: 13px; }
table.cases-table th, table.cases-table td { border: 1px solid var(--line); padding: 2px 8px; font-size: 12px; white-space: nowrap; }
table.cases-table th { background: var(--soft); }
.tok-row { margin: 8px 0 14px; }
.tok-source { font-size: 13px; color: var(--muted); margin-bottom: 4px; }
.tok-spans { display: flex; flex-wrap: wrap; gap: 3px; }
.tok { display: inline-flex; flex-direction: column; align-items: center; padding: 4px 8px 2px; border-radius: 4px; border: 1px solid rgba(0,0,0,.12); }
.tok-text { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 17px; white-space: pre; }
.tok-id { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 11px; color: #3a4550; }
table.hm-table { border-collapse: separate; border-spacing: 6px 4px; }
table.hm-table th.hm-src { text-align: center; font-size: 13px; vertical-align: bottom; font-family: ui-monospace, Menlo, Consolas, monospace; }
table.hm-table th.hm-src .sub { font-family: system-ui, sans-serif; }
table.hm-table th.hm-head { font-size: 12px; color: var(--muted); font-weight: normal; vertical-align: middle; white-space: nowrap; }
table.hm-table td { text-align: center; }
table.hm-table td.golden, table.hm-table th.golden { background: #f3f6fa; }
table.hm-table th.axes { font-size: 11px; color: var(--muted); font-weight: normal; vertical-align: bottom; text-align: right; white-space: nowrap; }
svg.hm .hm-lab { fill: #34404c; font-family: ui-monospace, Menlo, Consolas, monospace; }
.hm-legend { display: flex; align-items: center; gap: 8px; font-size: 12px; color: var(--muted); margin: 6px 0; flex-wrap: wrap; }
.hm-legend .ramp { display: inline-block; width: 160px; height: 12px; border: 1px solid #8a94a0; }
.hm-legend .masked-swatch { display: inline-flex; align-items: center; gap: 6px; margin-left: 18px; }
.leak-note { color: #d1242f; font-size: 12px; font-weight: 600; max-width: 220px; }
ul.problems { padding-left: 18px; margin: 4px 0; }
.problem-group { margin: 10px 0 14px; }
.problem-group details { margin-left: 18px; }
ul.problems li { margin: 6px 0; }
ul.problems .reason { display: block; white-space: pre-wrap; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; color: #45505b; background: var(--soft); padding: 3px 8px; border-radius: 3px; margin-top: 2px; max-width: 1100px; overflow-wrap: anywhere; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
`;

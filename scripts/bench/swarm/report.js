// Results of the swarm benchmark as files: JSON, an SVG chart (each peer's completion time per
// system, one panel per N, T_min drawn as a line) and the table of docs/benchmarks.md's
// "Swarm" section (everything from "## Swarm" to the end of the file is rewritten; the tuning
// notes kept between SWARM-NOTES markers survive a rerun).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const COLORS = { ours: '#1b7f3b', http: '#b03030', aria2c: '#2a5db0', ctorrent: '#c07a00' };
const fmt = (x, d = 1) => (x === null || x === undefined ? '—' : x.toFixed(d));

export function renderSvg(result) {
  const panels = result.summary.map((row) => row.peers);
  const W = 460;
  const H = 320;
  const pad = { l: 56, r: 16, t: 36, b: 44 };
  const width = W * panels.length;
  const height = H + 28 * result.systems.length;
  const parts = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
  );
  panels.forEach((n, p) => {
    const x0 = p * W;
    const runs = result.runsDetail.filter((r) => r.peers === n);
    const tMin = runs[0]?.tMin ?? 1;
    const yMax =
      Math.max(tMin * 1.2, ...runs.flatMap((r) => r.times.filter((t) => t !== null))) * 1.05;
    const sx = (i) => x0 + pad.l + ((W - pad.l - pad.r) * (i + 0.5)) / n;
    const sy = (t) => pad.t + (H - pad.t - pad.b) * (1 - t / yMax);
    parts.push(
      `<text x="${x0 + W / 2}" y="20" text-anchor="middle" font-weight="bold">N = ${n}, ${result.sizeMib} MiB, ${result.rateMbit} Mbit/s links</text>`,
      `<line x1="${x0 + pad.l}" y1="${sy(0)}" x2="${x0 + W - pad.r}" y2="${sy(0)}" stroke="#444"/>`,
      `<line x1="${x0 + pad.l}" y1="${pad.t}" x2="${x0 + pad.l}" y2="${sy(0)}" stroke="#444"/>`,
    );
    const step = niceStep(yMax);
    for (let t = 0; t <= yMax; t += step) {
      parts.push(
        `<line x1="${x0 + pad.l - 4}" y1="${sy(t)}" x2="${x0 + W - pad.r}" y2="${sy(t)}" stroke="#eee"/>`,
        `<text x="${x0 + pad.l - 6}" y="${sy(t) + 4}" text-anchor="end">${t}</text>`,
      );
    }
    parts.push(
      `<line x1="${x0 + pad.l}" y1="${sy(tMin)}" x2="${x0 + W - pad.r}" y2="${sy(tMin)}" stroke="#000" stroke-dasharray="5,4"/>`,
      `<text x="${x0 + W - pad.r}" y="${sy(tMin) - 4}" text-anchor="end">T_min ${tMin.toFixed(1)} s</text>`,
      `<text x="${x0 + W / 2}" y="${H - 10}" text-anchor="middle">peers, sorted by completion time</text>`,
      `<text x="${x0 + 14}" y="${(pad.t + H - pad.b) / 2}" text-anchor="middle" transform="rotate(-90 ${x0 + 14} ${(pad.t + H - pad.b) / 2})">seconds</text>`,
    );
    for (const r of runs) {
      const color = COLORS[r.system] ?? '#666';
      const ts = r.times.filter((t) => t !== null).sort((a, b) => a - b);
      const pts = ts.map((t, i) => `${sx(i).toFixed(1)},${sy(t).toFixed(1)}`);
      if (pts.length > 1)
        parts.push(
          `<polyline points="${pts.join(' ')}" fill="none" stroke="${color}" stroke-width="1.5" opacity="0.8"/>`,
        );
      for (const pt of pts) {
        const [cx, cy] = pt.split(',');
        parts.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${color}"/>`);
      }
    }
  });
  result.systems.forEach((s, i) => {
    const y = H + 18 + i * 24;
    const row = result.summary.map((r) => `N=${r.peers}: ${fmt(r[s]?.ratio, 2)}x T_min`).join(', ');
    parts.push(
      `<rect x="${pad.l}" y="${y - 10}" width="14" height="14" fill="${COLORS[s] ?? '#666'}"/>`,
      `<text x="${pad.l + 22}" y="${y + 2}">${escapeXml(labelOf(result, s))} — ${row}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

function labelOf(result, system) {
  return result.runsDetail.find((r) => r.system === system)?.label ?? system;
}

function niceStep(max) {
  for (const s of [5, 10, 20, 30, 60, 120, 300, 600]) if (max / s <= 8) return s;
  return 1200;
}

function escapeXml(s) {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function renderMarkdown(result, notes) {
  const lines = [];
  lines.push('## Swarm (`pnpm bench:swarm`)', '');
  lines.push(
    `One origin and N peers, each a network namespace on one bridge; every link shaped to ${result.rateMbit} Mbit/s in both`,
    'directions with HTB (this kernel has no netem, so links have no added delay). The same',
    `${result.sizeMib} MiB file (piece length ${result.pieceLength / 1024} KiB for every BitTorrent system) goes to all N peers, which`,
    'start together; every copy is checksummed. T_min = max(S/U_origin, S/D_peer, N·S/(U_origin + N·U_peer)) is the',
    'physical lower bound (a perfect TCP transfer needs ~1.046x it: headers count on a shaped link). "Origin up" is',
    "what left the origin's interface, in multiples of S. CPU is the CPU-seconds of every process the system ran",
    `(tracker, origin, all N downloaders) on this ${result.cpus}-core machine, shared with other work.`,
    `Run: ${result.date}, ${result.runs} run(s) per system (medians shown). Chart: [swarm-chart.svg](swarm-chart.svg);`,
    'raw figures: [swarm-results.json](swarm-results.json).',
    '',
    '| N | system | min s | median s | max s | max / T_min | origin up (× S) | CPU s |',
    '|---|---|---|---|---|---|---|---|',
  );
  for (const row of result.summary) {
    for (const s of result.systems) {
      const runs = result.runsDetail.filter((r) => r.peers === row.peers && r.system === s);
      const mins = runs.map((r) => r.min).filter((x) => x !== null);
      const v = row[s];
      const failed = runs.some((r) => r.verified !== r.peers);
      lines.push(
        `| ${row.peers} | ${labelOf(result, s)} | ${fmt(mins.length ? Math.min(...mins) : null)} | ${fmt(v.median)} | ${fmt(v.max)} | ${failed ? 'failed' : `${fmt(v.ratio, 2)}x`} | ${fmt(v.originUploadS, 2)} | ${fmt(v.cpuSeconds)} |`,
      );
    }
    lines.push(`| ${row.peers} | T_min | | | ${fmt(row.tMin)} | 1.00x | | |`);
  }
  lines.push('', '<!-- SWARM-NOTES -->', notes.trim(), '<!-- /SWARM-NOTES -->', '');
  return lines.join('\n');
}

/** The section as prettier would write it (CI runs `prettier --check .`); as is without it. */
async function formatted(markdown, path) {
  try {
    const prettier = await import('prettier');
    const config = (await prettier.resolveConfig(path)) ?? {};
    return await prettier.format(markdown, { ...config, parser: 'markdown' });
  } catch {
    return markdown;
  }
}

export async function writeReport(result, docsDir) {
  writeFileSync(join(docsDir, 'swarm-results.json'), JSON.stringify(result, null, 2) + '\n');
  writeFileSync(join(docsDir, 'swarm-chart.svg'), renderSvg(result));
  const mdPath = join(docsDir, 'benchmarks.md');
  const md = existsSync(mdPath) ? readFileSync(mdPath, 'utf8') : '# Benchmarks\n';
  const at = md.search(/^## Swarm/m);
  const before = at >= 0 ? md.slice(0, at) : md.replace(/\n*$/, '\n\n');
  const old = at >= 0 ? md.slice(at) : '';
  const notes = /<!-- SWARM-NOTES -->\n?([\s\S]*?)<!-- \/SWARM-NOTES -->/.exec(old)?.[1] ?? '';
  writeFileSync(mdPath, before + (await formatted(renderMarkdown(result, notes), mdPath)));
}

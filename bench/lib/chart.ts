/**
 * A hand-written SVG grouped bar chart: CPU per unit of work per scenario, one bar per subject,
 * normalised so the scenario's main reference is 1. No dependency, readable without any tooling.
 * @module
 */
import { referencesOf } from '../scenarios.ts';
import { CHART_METRIC, pairedRatio } from './metrics.ts';
import type { ScenarioResults } from './report.ts';

const COLORS: Readonly<Record<string, string>> = {
  ws: '#a6a6a6',
  'ws-addons': '#595959',
  uws: '#1f77b4',
  raw: '#2ca02c',
  wspeer: '#d62728',
  'ws-deflate': '#8c564b',
  'wspeer-deflate': '#ff7f0e',
  'wspeer-deflate-ctx': '#9467bd',
};
const FALLBACK_COLORS = ['#e377c2', '#17becf', '#bcbd22', '#7f7f7f'];

const BAR = 26;
const GROUP_GAP = 24;
const MIN_GROUP_WIDTH = 130; // room for the three-line scenario label under narrow groups
const MIN_WIDTH = 720;
const PLOT_HEIGHT = 320;
const LEFT = 70;
const TOP = 84;
const BOTTOM = 86;

function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (char) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[char] ?? char);
}

/** Horizontal room one legend entry takes. */
function legendStep(subject: string): number {
  return 30 + subject.length * 7;
}

function unitOf(results: ScenarioResults): string {
  if (results.scenario.kind === 'handshake') return 'server CPU / conn';
  if (results.scenario.kind === 'client') return 'client CPU / msg';
  return 'server CPU / msg';
}

/** Renders the chart; scenarios without a CPU figure (idle memory) are left out. */
export function renderChart(all: readonly ScenarioResults[]): string {
  const groups = all
    .filter((results) => results.scenario.kind !== 'idle')
    .map((results) => {
      const reference = referencesOf(results.scenario)[0] ?? '';
      const base = results.series.find((series) => series.subject === reference);
      const bars = results.series.map((series) => ({
        subject: series.subject,
        value: base === undefined ? Number.NaN : pairedRatio(series, base, CHART_METRIC),
      }));
      return { results, reference, bars };
    });
  const references = [...new Set(groups.map((group) => group.reference))];
  const subjects = [...new Set(groups.flatMap((group) => group.bars.map((bar) => bar.subject)))];
  const colorOf = (subject: string): string =>
    COLORS[subject] ?? FALLBACK_COLORS[subjects.indexOf(subject) % FALLBACK_COLORS.length] ?? '#333333';

  const largest = Math.max(1, ...groups.flatMap((group) => group.bars.map((bar) => (Number.isFinite(bar.value) ? bar.value : 0))));
  const yMax = Math.max(1.5, Math.ceil(largest * 1.1 * 4) / 4);
  const y = (value: number): number => TOP + PLOT_HEIGHT - (value / yMax) * PLOT_HEIGHT;
  const groupWidthOf = (bars: number): number => Math.max(MIN_GROUP_WIDTH, bars * BAR);
  const barsWidth = groups.reduce((width, group) => width + groupWidthOf(group.bars.length) + GROUP_GAP, GROUP_GAP);
  const legendWidth = subjects.reduce((sum, subject) => sum + legendStep(subject), 0);
  const width = Math.max(MIN_WIDTH, LEFT + barsWidth + 20, LEFT + legendWidth);
  const plotWidth = width - LEFT - 20;
  const height = TOP + PLOT_HEIGHT + BOTTOM;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${LEFT}" y="22" font-size="16" font-weight="bold">CPU per message, relative to ${escapeXml(references.join(' / '))} = 1 (lower is better)</text>`,
    `<text x="${LEFT}" y="40" fill="#555555">server CPU per message; per connection for handshakes; client CPU for the client scenarios; reference under each group</text>`,
  ];

  // Horizontal grid and y-axis labels.
  const step = yMax <= 2 ? 0.25 : yMax <= 5 ? 0.5 : Math.ceil(yMax / 8);
  for (let tick = 0; tick <= yMax + 1e-9; tick += step) {
    out.push(
      `<line x1="${LEFT}" x2="${LEFT + plotWidth}" y1="${y(tick)}" y2="${y(tick)}" stroke="#e0e0e0"/>`,
      `<text x="${LEFT - 8}" y="${y(tick) + 4}" text-anchor="end">${tick.toFixed(2)}</text>`,
    );
  }
  out.push(
    `<line x1="${LEFT}" x2="${LEFT}" y1="${TOP}" y2="${TOP + PLOT_HEIGHT}" stroke="#000000"/>`,
    `<line x1="${LEFT}" x2="${LEFT + plotWidth}" y1="${TOP + PLOT_HEIGHT}" y2="${TOP + PLOT_HEIGHT}" stroke="#000000"/>`,
    `<text transform="translate(18 ${TOP + PLOT_HEIGHT / 2}) rotate(-90)" text-anchor="middle">× reference</text>`,
  );

  // Bars, value labels and group labels.
  let x = LEFT + GROUP_GAP;
  for (const group of groups) {
    const groupWidth = groupWidthOf(group.bars.length);
    const firstBar = x + (groupWidth - group.bars.length * BAR) / 2;
    for (const [index, bar] of group.bars.entries()) {
      const left = firstBar + index * BAR;
      if (Number.isFinite(bar.value)) {
        out.push(
          `<rect x="${left + 2}" y="${y(bar.value)}" width="${BAR - 4}" height="${y(0) - y(bar.value)}" fill="${colorOf(bar.subject)}"><title>${escapeXml(`${bar.subject}: ${bar.value.toFixed(2)}×`)}</title></rect>`,
          `<text x="${left + BAR / 2}" y="${y(bar.value) - 4}" text-anchor="middle" font-size="10">${bar.value.toFixed(2)}</text>`,
        );
      } else {
        out.push(`<text x="${left + BAR / 2}" y="${y(0) - 4}" text-anchor="middle" font-size="9" fill="#888888">n/a</text>`);
      }
    }
    const centre = x + groupWidth / 2;
    const { number, id } = group.results.scenario;
    out.push(
      `<text x="${centre}" y="${TOP + PLOT_HEIGHT + 18}" text-anchor="middle" font-weight="bold">${escapeXml(`${number}. ${id}`)}</text>`,
      `<text x="${centre}" y="${TOP + PLOT_HEIGHT + 33}" text-anchor="middle" fill="#555555">${escapeXml(unitOf(group.results))}</text>`,
      `<text x="${centre}" y="${TOP + PLOT_HEIGHT + 48}" text-anchor="middle" fill="#555555">${escapeXml(`÷ ${group.reference}`)}</text>`,
    );
    x += groupWidth + GROUP_GAP;
  }

  // The baseline line, drawn over the bars so it stays visible.
  out.push(`<line x1="${LEFT}" x2="${LEFT + plotWidth}" y1="${y(1)}" y2="${y(1)}" stroke="#000000" stroke-dasharray="5 4"/>`);

  // Legend across the top.
  let legendX = LEFT;
  for (const subject of subjects) {
    out.push(
      `<rect x="${legendX}" y="52" width="12" height="12" fill="${colorOf(subject)}"/>`,
      `<text x="${legendX + 17}" y="62">${escapeXml(subject)}</text>`,
    );
    legendX += legendStep(subject);
  }
  out.push(`<text x="${LEFT}" y="${height - 12}" fill="#555555">Medians of per-round ratios; n/a: that entry did not run.</text>`, '</svg>');
  return out.join('\n');
}

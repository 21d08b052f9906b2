/**
 * npm run bench:input — the adversarial inputs of test/security/ against the
 * parser functions themselves (no HTTP, no database): template validation,
 * rendering with its footer, and the streamed CSV lead reader. Each case runs
 * at n, 2n and 4n; a linear implementation takes ~2x when the input doubles,
 * a quadratic one ~4x.
 *
 * BENCH_INPUT_SCALE (default 1) scales every size, e.g. 0.25 to measure an
 * implementation that would take minutes at full size. At 1, the largest
 * template cases are the largest the API accepts (html up to 500,000
 * characters, text up to 100,000). BENCH_INPUT_CASES runs only the cases
 * whose name contains it (e.g. "csv").
 */
import { Readable } from 'node:stream';
import { collectCsvLeads } from '../../services/lead-import';
import { appendFooter } from '../../core/template/footer';
import { renderEmail } from '../../core/template/render';
import { validateTemplate } from '../../core/template/validate';
import { trackHtml, type TrackingPlan } from '../../core/tracking/rewrite';
import { machineLine, runBench, say } from './harness';
import { columnName } from '../../test/helpers/adversarial';

const SCALE = Number(process.env.BENCH_INPUT_SCALE ?? 1);
const ONLY = process.env.BENCH_INPUT_CASES ?? '';
const U = '{{unsubscribeUrl}}';

interface Case {
  name: string;
  /** n at the smallest of the three sizes (before BENCH_INPUT_SCALE). */
  n: number;
  run(n: number): Promise<string> | string;
}

const scaled = (n: number) => Math.max(1, Math.round(n * SCALE));

/** One CSV upload, streamed in 64 KiB chunks as a request body would be. */
async function csv(text: string): Promise<string> {
  const buf = Buffer.from(text);
  const chunks: Buffer[] = [];
  for (let i = 0; i < buf.length; i += 65_536) chunks.push(buf.subarray(i, i + 65_536));
  try {
    const out = await collectCsvLeads(Readable.from(chunks));
    return `${out.leads.length} leads, ${out.invalid.length} invalid`;
  } catch (err) {
    const e = err as { statusCode?: number; message: string };
    return `refused ${e.statusCode ?? '?'}: ${e.message.slice(0, 60)}`;
  }
}

const validate = (t: { subject?: string; text?: string; html?: string }) => {
  const issues = validateTemplate({ subject: t.subject ?? 's', text: t.text ?? U, html: t.html });
  return `${issues.length} issues`;
};

/** Open and click tracking as a send applies it (core/tracking/rewrite.ts). */
const TRACK: TrackingPlan = { openUrl: 'https://t.example/t/o/x', clickUrl: (i) => `https://t.example/t/c/${i}`, keep: () => false };
const track = (html: string) => `${trackHtml(html, TRACK).links.length} links`;

const CASES: Case[] = [
  // The report of issue 11: every issue rescanned the text from its start for its line and column.
  { name: 'template html "}}" x n (unopened placeholders)', n: 62_250, run: (n) => validate({ html: `${U}${'}}'.repeat(n)}` }) },
  { name: 'template html "{" x n (nesting past the cap)', n: 125_000, run: (n) => validate({ html: `${U}${'{'.repeat(n)}` }) },
  { name: 'template html "{{x}}" x n (unknown placeholders)', n: 25_000, run: (n) => validate({ html: `${U}${'{{x}}'.repeat(n)}` }) },
  { name: 'template html "{{a " x n (unclosed placeholders)', n: 31_250, run: (n) => validate({ html: `${U}${'{{a '.repeat(n)}` }) },
  { name: 'template html "{||" x n (empty spintax options)', n: 41_666, run: (n) => validate({ html: `${U}${'{||}'.repeat(n)}` }) },
  { name: 'template html {{ <spaces> a <spaces> b}} (placeholder body)', n: 62_500, run: (n) => validate({ html: `${U}{{${' '.repeat(n)}a${' '.repeat(n)}b}}` }) },
  {
    name: 'template html nested spintax, 16 deep, x n',
    n: 1_900,
    run: (n) => validate({ html: `${U}${`${'{a|'.repeat(16)}b${'}'.repeat(16)}`.repeat(n)}` }),
  },
  {
    // textFooter trimmed the body with /\s+$/: quadratic on a long inner run of whitespace.
    name: 'render + footer: text with n spaces before its last word',
    n: 25_000,
    run: (n) => {
      const t = { subject: 's', text: `${U}${' '.repeat(n)}x` };
      const r = renderEmail(t, { unsubscribeUrl: 'https://u.example/u/t' }, 'seed');
      return `${appendFooter(r, { physicalAddress: '1 Main St', unsubscribeUrl: 'https://u.example/u/t' }).text.length} chars`;
    },
  },
  {
    name: 'render: html "{{firstName}}" x n',
    n: 9_600,
    run: (n) => `${renderEmail({ subject: 's', text: U, html: `${U}${'{{firstName}}'.repeat(n)}` }, { firstName: 'Ada' }, 'seed').html!.length} chars`,
  },
  {
    name: 'render: html nested spintax, 16 deep, x n',
    n: 1_900,
    run: (n) => `${renderEmail({ subject: 's', text: U, html: `${U}${`${'{a|'.repeat(16)}b${'}'.repeat(16)}`.repeat(n)}` }, {}, 'seed').html!.length} chars`,
  },
  { name: 'tracking: html "<a " x n (a tag that never closes)', n: 40_000, run: (n) => track('<a '.repeat(n)) },
  { name: 'tracking: html <a href=" x n (quotes that pair up, then one that does not)', n: 25_000, run: (n) => track('<a href="'.repeat(n)) },
  { name: 'tracking: html <a title="<a"> x n', n: 12_500, run: (n) => track('<a title="<a">'.repeat(n)) },
  { name: 'tracking: html "</" x n and "<!--" x n', n: 50_000, run: (n) => track(`${'</'.repeat(n)}${'<!--'.repeat(n)}`) },
  { name: 'tracking: html <style> with n "</" inside, unclosed', n: 50_000, run: (n) => track(`<style>${'</'.repeat(n)}`) },
  {
    name: 'tracking: n links (baseline; 200 tracked)',
    n: 6_000,
    run: (n) => track(Array.from({ length: n }, (_, i) => `<p><a href="https://acme.example/p/${i}?a=1&amp;b=2">link ${i}</a></p>`).join('')),
  },
  // The CSV of issue 11: a wide header, then short rows that each got one empty value per column.
  {
    name: 'csv: header of n columns, then n/10 short rows',
    n: 7_500,
    run: (n) => csv(`email,${Array.from({ length: n }, (_, i) => columnName(i)).join(',')}\n${Array.from({ length: n / 10 }, (_, i) => `a${i}@x.example`).join('\n')}\n`),
  },
  {
    name: 'csv: header "email" + n empty columns, then n/10 short rows',
    n: 25_000,
    run: (n) => csv(`email${','.repeat(n)}\n${Array.from({ length: n / 10 }, (_, i) => `a${i}@x.example`).join('\n')}\n`),
  },
  { name: 'csv: one row of n empty fields', n: 1_000_000, run: (n) => csv(`email\na@x.example${','.repeat(n)}\n`) },
  {
    name: 'csv: n well-formed rows of 3 columns (baseline)',
    n: 12_500,
    run: (n) => csv(`email,first name,company\n${Array.from({ length: n }, (_, i) => `a${i}@x.example,First${i},Company ${i}`).join('\n')}\n`),
  },
];

async function timeOnce(c: Case, n: number): Promise<{ ms: number; out: string }> {
  const start = performance.now();
  try {
    const out = await c.run(n);
    return { ms: performance.now() - start, out };
  } catch (err) {
    return { ms: performance.now() - start, out: `threw ${(err as Error).name}: ${(err as Error).message.slice(0, 60)}` };
  }
}

/** Median of 3 runs (1 when a run takes over 3 s). */
async function time(c: Case, n: number): Promise<{ ms: number; out: string }> {
  const first = await timeOnce(c, n);
  if (first.ms > 3000) return first;
  const runs = [first, await timeOnce(c, n), await timeOnce(c, n)].sort((a, b) => a.ms - b.ms);
  return runs[1]!;
}

async function main(): Promise<void> {
  say(`bench:input ${machineLine()}, node ${process.version}, scale ${SCALE}`);
  say('case | n | ms at n, 2n, 4n | growth 2n/n, 4n/2n | results');
  for (const c of CASES.filter((x) => x.name.includes(ONLY))) {
    const n = scaled(c.n);
    await timeOnce(c, Math.max(1, Math.round(n / 8))); // warm-up
    const t = [await time(c, n), await time(c, 2 * n), await time(c, 4 * n)];
    const ms = t.map((x) => x.ms.toFixed(1)).join(', ');
    const growth = [t[1]!.ms / t[0]!.ms, t[2]!.ms / t[1]!.ms].map((g) => `${g.toFixed(2)}x`).join(', ');
    say(`${c.name} | ${n} | ${ms} | ${growth} | ${[...new Set(t.map((x) => x.out))].join(' / ')}`);
  }
}

runBench(main);

/**
 * One-line summaries the Temporal Web UI shows for a campaign's send
 * activities: campaign, step, sender mailbox and providers, never the
 * recipient. Pure, so the workflow can use it and tests can pin it.
 */
export interface SendSummaryInput {
  campaignName: string;
  /** 0-based steps of the work in the batch (several when follow-ups share it). */
  steps: number[];
  stepCount: number;
  mailbox: string;
  /** Provider accounts by name, in failover order. */
  providers: string[];
  /** Slots in the batch; 1 for a send alone. */
  slots: number;
  /** How the campaign runs, when not live (modeLabel): e.g. 'dry run'. */
  mode?: string;
}

/**
 * How a campaign that is not live runs, in a few words for the Web UI's
 * summaries: 'dry run', 'staged: 1% sample', 'staged: approved'; undefined when live.
 */
export function modeLabel(c: { runMode?: string; stage?: string | null; sampleRatio?: number | null }): string | undefined {
  if (c.runMode === 'dry-run') return 'dry run';
  if (c.runMode !== 'staged') return undefined;
  if (c.stage === 'approved') return 'staged: approved';
  const pct = Math.round((c.sampleRatio ?? 0) * 10_000) / 100;
  return `staged: ${pct}% sample`;
}

const MAX_NAME = 60;
/** Servers cap a summary's serialized payload (400 bytes by default); the codec adds about 170. */
export const MAX_SUMMARY_BYTES = 200;

function utf8Bytes(cp: number): number {
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/** `text` cut to at most `max` UTF-8 bytes, on a character boundary, with … when cut. */
export function clampUtf8(text: string, max: number): string {
  let bytes = 0;
  for (const ch of text) bytes += utf8Bytes(ch.codePointAt(0)!);
  if (bytes <= max) return text;
  let out = '';
  bytes = 3; // the ellipsis
  for (const ch of text) {
    const b = utf8Bytes(ch.codePointAt(0)!);
    if (bytes + b > max) break;
    out += ch;
    bytes += b;
  }
  return `${out}…`;
}

export function sendSummary(s: SendSummaryInput): string {
  const name = s.campaignName.replace(/\s+/g, ' ').trim();
  const shown = name.length > MAX_NAME ? `${name.slice(0, MAX_NAME - 1)}…` : name;
  const steps = s.steps.map((n) => n + 1);
  const step =
    steps.length === 0 ? `${s.stepCount} steps`
      : steps.length === 1 ? `step ${steps[0]}/${s.stepCount}`
        : `steps ${steps.join(',')}/${s.stepCount}`;
  const via = s.providers.length ? ` via ${s.providers.join(' → ')}` : '';
  const what = s.slots === 1 ? 'send' : `${s.slots} sends`;
  // A dry run's sends say so first: nothing of them reaches a provider.
  const mode = s.mode ? `${s.mode} · ` : '';
  return clampUtf8(`${mode}${what} · campaign "${shown}" · ${step} · from ${s.mailbox}${via}`, MAX_SUMMARY_BYTES);
}

import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

/**
 * The house by folder (eslint.config.mjs): a layer that imports one above it
 * fails the lint. Each case lints one import as the whole text of an
 * existing file of that folder (the type-aware parser knows only the
 * project's files), with the project's own configuration.
 */
const root = path.resolve(__dirname, '../..');

/**
 * ESLint loads its flat config by dynamic import, which Jest's module sandbox
 * refuses: the cases are linted in one plain Node process, with ESLint's API
 * (lintText with each case's file path; no file is written).
 */
async function lintAll(cases: [string, string][]): Promise<string[][]> {
  const script = `
    const { ESLint } = require('eslint');
    const path = require('node:path');
    (async () => {
      const eslint = new ESLint({ cwd: process.cwd() });
      const out = [];
      for (const [file, source] of JSON.parse(process.argv[1])) {
        const [r] = await eslint.lintText(source + '\\nexport const probe = x;\\n', { filePath: path.join(process.cwd(), file) });
        out.push(r.messages.filter((m) => /no-restricted-imports/.test(m.ruleId || '')).map((m) => m.message));
      }
      process.stdout.write(JSON.stringify(out));
    })().catch((e) => { console.error(e); process.exit(1); });`;
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', script, JSON.stringify(cases)], { cwd: root, maxBuffer: 16 * 1024 * 1024 });
  return JSON.parse(stdout) as string[][];
}

describe('layers: each folder imports only those below it', () => {
  const refused: [string, string][] = [
    ['core/ids.ts', "import { x } from '../db/pool';"],
    ['core/schemas/common.ts', "import { x } from '../../services/feedback';"],
    ['core/ids.ts', "import { x } from '../workflows/policy';"],
    ['workflows/policy/spread.ts', "import { x } from '../../db/pool';"],
    ['workflows/policy/spread.ts', "import { x } from '../messages/mailbox';"],
    ['db/repositories/leads.ts', "import { x } from '../../activities/providers/breaker-policy';"],
    ['db/repositories/leads.ts', "import { x } from '../../workflows/messages/campaign';"],
    ['db/repositories/leads.ts', "import { x } from '../../services/alerts';"],
    ['services/feedback.ts', "import { x } from '../activities/campaign-data.activity';"],
    ['services/feedback.ts', "import { x } from '../api/app';"],
    ['services/feedback.ts', "import { x } from '../workflows/mailbox.workflow';"],
    ['activities/mailbox.activity.ts', "import { x } from '../api/deps';"],
    ['activities/mailbox.activity.ts', "import { x } from '../workflows/campaign.workflow';"],
    ['api/routes/health.ts', "import { x } from '../../activities/reputation.activity';"],
    ['api/routes/health.ts', "import { x } from '../../workflows/mailbox.workflow';"],
    ['api/routes/health.ts', "import { x } from '../../worker/main';"],
    ['workflows/rotation.workflow.ts', "import { x } from '../db/pool';"],
    ['workflows/rotation.workflow.ts', "import { x } from '../services/feedback';"],
  ];
  const allowed: [string, string][] = [
    ['db/repositories/leads.ts', "import { x } from '../../core/ids';"],
    ['db/repositories/leads.ts', "import { x } from '../../workflows/policy/spread';"],
    ['services/feedback.ts', "import { x } from '../db/pool';"],
    ['services/feedback.ts', "import { x } from '../workflows/messages/mailbox';"],
    ['services/feedback.ts', "import type { x } from '../workflows/mailbox.workflow';"],
    ['activities/mailbox.activity.ts', "import { x } from '../services/mailbox-rests';"],
    ['api/routes/health.ts', "import { x } from '../../services/campaign';"],
    ['workflows/rotation.workflow.ts', "import type { x } from '../activities';"],
  ];

  let results: string[][];
  beforeAll(async () => {
    results = await lintAll([...refused, ...allowed]);
  }, 120_000);

  it.each(refused.map((c, i) => [...c, i] as const))('%s may not %s', (_file, _source, i) => {
    expect(results[i]!.length).toBeGreaterThan(0);
  });

  it.each(allowed.map((c, i) => [...c, refused.length + i] as const))('%s may %s', (_file, _source, i) => {
    expect(results[i]).toEqual([]);
  });
});

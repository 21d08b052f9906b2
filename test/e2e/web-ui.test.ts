import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startDevServer, type DevServerHandle } from '../../scripts/temporal-cli';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { SmtpSink } from '../fakes/smtp-sink';
import { campaignWithLeads } from '../helpers/campaign-fixture';
import { newClient, newSmtpProvider, startStack, type Stack } from '../helpers/stack';

/**
 * The Temporal Web UI as the send inspector, in a real browser (Debian's
 * Chromium driven by playwright-core): filter workflows by a campaign's
 * search attribute, open the campaign, find its sends. Screenshots go to
 * test-artifacts/ (git-ignored).
 *
 * The shared test dev server is headless, so this file starts its own dev
 * server with the UI (the same scripts/temporal-cli.ts `npm run dev` uses).
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = path.join(__dirname, '../../test-artifacts');

describe('Temporal Web UI', () => {
  let server: DevServerHandle;
  let stack: Stack;
  let sink: SmtpSink;
  let browser: Browser;

  beforeAll(async () => {
    server = await startDevServer({ searchAttributes: SEARCH_ATTRIBUTES });
    sink = await new SmtpSink().start();
    stack = await startStack({ worker: true, env: { TEMPORAL_ADDRESS: server.address } });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    await mkdir(ARTIFACTS, { recursive: true });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    await sink?.stop();
    await server?.stop();
  });

  async function openPage(): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    page.setDefaultTimeout(30_000);
    return page;
  }

  it("filters workflows by a campaign's search attribute, finds its sends, and saves a screenshot", async () => {
    const client = await newClient(stack);
    const provider = await newSmtpProvider(stack, sink.port);
    const ours = await campaignWithLeads(stack, client, { providers: [provider.name], mailboxes: 2, leads: 3 });
    const other = await campaignWithLeads(stack, client, { providers: [provider.name], mailboxes: 1, leads: 1 });
    await ours.start();
    await other.start();
    await ours.waitDone();
    await other.waitDone();
    const { rows: sends } = await stack.pool.query<{ id: string; lead_id: string; status: string }>(
      'SELECT id, lead_id, status FROM sends WHERE campaign_id = $1', [ours.campaignId]);
    expect(sends.map((s) => s.status)).toEqual(['sent', 'sent', 'sent']);

    const page = await openPage();
    try {
      // 1. The workflow list, filtered by OutreachCampaign through the UI's query (?query=).
      const query = `OutreachCampaign="${ours.campaignId}"`;
      await page.goto(`${server.uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(query)}`);
      const row = page.getByRole('link', { name: `campaign-${ours.campaignId}`, exact: true });
      await row.waitFor();
      // The filter is applied in the UI (its chip names the attribute), and the other campaign is not listed.
      await page.getByText('OutreachCampaign', { exact: false }).first().waitFor();
      expect(await page.getByRole('link', { name: `campaign-${other.campaignId}`, exact: true }).count()).toBe(0);
      expect(await page.getByRole('link', { name: /^mailbox-/ }).count()).toBe(0);
      await page.screenshot({ path: path.join(ARTIFACTS, 'web-ui.png'), fullPage: true });

      // 2. Its history: every send of the campaign, by lead and send id, and no recipient address in clear.
      await row.click();
      await page.waitForURL(/\/workflows\/campaign-[^/]+\/[^/]+\/history/);
      await page.getByText('Workflow Execution Completed', { exact: false }).first().waitFor();
      const history = await page.locator('body').innerText();
      expect(history).toContain(`campaign-${ours.campaignId}`);
      // The Compact view groups each activity into one row; expanding a send shows its input and result.
      await page.getByText('Compact', { exact: true }).first().click();
      // A summary row per send activity (an expanded row adds its events below it, which are not summaries).
      const sendRows = page.locator('tbody tr', { hasText: /send(Step|Batch)/, hasNotText: 'Activity Task Scheduled' });
      await sendRows.first().waitFor();
      const rowCount = await sendRows.count();
      expect(rowCount).toBeGreaterThanOrEqual(1);
      const completed = page.getByText('Activity Task Completed', { exact: true });
      let expanded = '';
      for (let i = 0; i < rowCount; i++) {
        await sendRows.nth(i).click();
        await completed.first().waitFor();
        expanded += await page.locator('body').innerText();
        if (i === 0) await page.screenshot({ path: path.join(ARTIFACTS, 'web-ui-send.png'), fullPage: true });
        await sendRows.nth(i).click(); // collapse again
        await completed.first().waitFor({ state: 'detached' });
      }
      const shownSendIds = new Set([...expanded.matchAll(/"sendId": "([0-9a-f-]{36})"/g)].map((m) => m[1]));
      expect([...shownSendIds].sort()).toEqual(sends.map((s) => s.id).sort());
      for (const s of sends) expect(expanded).toContain(`"leadId": "${s.lead_id}"`);
      for (const email of ours.emails) {
        expect(history).not.toContain(email);
        expect(expanded).not.toContain(email);
      }
      await page.screenshot({ path: path.join(ARTIFACTS, 'web-ui-history.png'), fullPage: true });
    } finally {
      await page.close();
    }
  }, 240_000);
});

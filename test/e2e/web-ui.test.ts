import { randomBytes } from 'node:crypto';
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
  let apiUrl: string;

  beforeAll(async () => {
    server = await startDevServer({ searchAttributes: SEARCH_ATTRIBUTES });
    sink = await new SmtpSink().start();
    // Payloads are encrypted, as in production; the UI decodes them through the API's /codec.
    stack = await startStack({
      worker: true,
      env: { TEMPORAL_ADDRESS: server.address, TEMPORAL_PAYLOAD_KEY: randomBytes(32).toString('base64'), CODEC_CORS_ORIGINS: server.uiUrl! },
    });
    apiUrl = await stack.app.listen({ host: '127.0.0.1', port: 0 });
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

  /** A fresh browser profile whose Web UI uses the API's codec endpoint; signed in there with the operator key, or not. */
  async function openPage(opts: { signIn: boolean }): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    if (opts.signIn) {
      await page.goto(`${apiUrl}/codec/login`);
      await page.getByPlaceholder('operator key').fill(stack.adminKey);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByText('Signed in').waitFor();
    }
    // The UI's codec settings (what its "Codec Server" dialog stores): endpoint, and send cookies with it.
    await page.goto(server.uiUrl!);
    await page.evaluate((endpoint) => {
      const { localStorage } = globalThis as unknown as { localStorage: { setItem(k: string, v: string): void } };
      localStorage.setItem('endpoint', JSON.stringify(endpoint));
      localStorage.setItem('includeCredentials', 'true');
    }, `${apiUrl}/codec`);
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
    const { rows: sends } = await stack.pool.query<{ id: string; lead_id: string; mailbox_id: string; status: string }>(
      'SELECT id, lead_id, mailbox_id, status FROM sends WHERE campaign_id = $1', [ours.campaignId]);
    expect(sends.map((s) => s.status)).toEqual(['sent', 'sent', 'sent']);

    const page = await openPage({ signIn: true });
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

      // 2. The history of its group (the child that runs the mailbox lanes): every send, and no recipient address in clear.
      const group = page.getByRole('link', { name: `campaign-${ours.campaignId}-r0-g0`, exact: true });
      await group.waitFor();
      await group.click();
      await page.waitForURL(/\/workflows\/campaign-[^/]+-r0-g0\/[^/]+\/history/);
      await page.getByText('Workflow Execution Completed', { exact: false }).first().waitFor();
      const history = await page.locator('body').innerText();
      expect(history).toContain(`campaign-${ours.campaignId}-r0-g0`);
      // The Compact view groups each activity into one row; expanding a send shows its input and result.
      await page.getByText('Compact', { exact: true }).first().click();
      // A summary row per send activity (an expanded row adds its events below it, which are not summaries).
      const sendRows = page.locator('tbody tr', { hasText: /send(Step|Batch)/, hasNotText: 'Activity Task Scheduled' });
      await sendRows.first().waitFor();
      const rowCount = await sendRows.count();
      expect(rowCount).toBeGreaterThanOrEqual(1);
      const completed = page.getByText('Activity Task Completed', { exact: true });
      // Expanded, a send activity shows its input and result pretty-printed (the summary rows show compact JSON):
      // sendStep → one lead, `"status": "sent"`; sendBatch → `"results": ["sent", …]`, one per granted slot.
      let expanded = '';
      let sentShown = 0;
      const mailboxesShown = new Set<string>();
      for (let i = 0; i < rowCount; i++) {
        await sendRows.nth(i).click();
        await completed.first().waitFor();
        const body = await page.locator('body').innerText();
        expanded += body;
        for (const m of body.matchAll(/"mailboxId": "([0-9a-f-]{36})"/g)) mailboxesShown.add(m[1]!);
        const batch = /"results": \[([^\]]*)\]/.exec(body);
        sentShown += batch ? (batch[1]!.match(/"sent"/g) ?? []).length : (body.match(/"status": "sent"/g) ?? []).length;
        if (i === 0) await page.screenshot({ path: path.join(ARTIFACTS, 'web-ui-send.png'), fullPage: true });
        await sendRows.nth(i).click(); // collapse again
        await completed.first().waitFor({ state: 'detached' });
      }
      // The send rows carry their summaries, decoded through the codec: campaign, step, sender mailbox, provider.
      const { rows: [named] } = await stack.pool.query<{ name: string }>('SELECT name FROM campaigns WHERE id = $1', [ours.campaignId]);
      const summaries = await page.locator('body').innerText();
      expect(summaries).toContain(`campaign "${named!.name}" · step 1/1 · from `);
      expect(summaries).toContain(`via ${provider.name}`);
      // Every send PostgreSQL recorded for this campaign is in the history the UI shows, from the mailbox it names.
      expect(sentShown).toBe(sends.length);
      expect([...mailboxesShown].sort()).toEqual([...new Set(sends.map((s) => s.mailbox_id))].sort());
      for (const email of ours.emails) {
        expect(history).not.toContain(email);
        expect(expanded).not.toContain(email);
      }
      await page.screenshot({ path: path.join(ARTIFACTS, 'web-ui-history.png'), fullPage: true });
    } finally {
      await page.context().close();
    }
  }, 240_000);

  it('without the operator sign-in, the UI shows the same sends encrypted', async () => {
    const client = await newClient(stack);
    const provider = await newSmtpProvider(stack, sink.port);
    const c = await campaignWithLeads(stack, client, { providers: [provider.name], mailboxes: 1, leads: 1 });
    await c.start();
    await c.waitDone();
    const { rows } = await stack.pool.query<{ status: string }>('SELECT status FROM sends WHERE campaign_id = $1', [c.campaignId]);
    expect(rows).toEqual([{ status: 'sent' }]);

    const page = await openPage({ signIn: false });
    try {
      await page.goto(`${server.uiUrl}/namespaces/default/workflows/campaign-${c.campaignId}-r0-g0`);
      await page.getByText('Compact', { exact: true }).first().click();
      const sendRow = page.locator('tbody tr', { hasText: /send(Step|Batch)/, hasNotText: 'Activity Task Scheduled' }).first();
      await sendRow.click();
      await page.getByText('Activity Task Completed', { exact: true }).first().waitFor();
      const body = await page.locator('body').innerText();
      expect(body).toContain(Buffer.from('binary/encrypted').toString('base64')); // the payload's metadata, as the UI shows it
      expect(body).not.toMatch(/"mailboxId"|"results"|"status": "sent"/); // inputs and results stay sealed
      await page.screenshot({ path: path.join(ARTIFACTS, 'web-ui-encrypted.png'), fullPage: true });
    } finally {
      await page.context().close();
    }
  }, 120_000);
});

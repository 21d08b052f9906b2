import { SesFake } from '../fakes/ses-fake';
import { campaignWithLeads, newProvider } from '../helpers/campaign-fixture';
import { newClient, startStack, type Stack } from '../helpers/stack';

/**
 * SES gives every mail its own Message-ID, `<MessageId@region.amazonses.com>`,
 * over any we set (the fake does as SES does). A follow-up must answer the
 * id the recipient received: step 2's In-Reply-To and References name SES's
 * id of step 1, not ours.
 */
describe('SES follow-ups thread on the Message-ID SES gave step 1', () => {
  let stack: Stack;
  const ses = new SesFake();
  let sesUrl = '';

  beforeAll(async () => {
    sesUrl = await ses.start();
    stack = await startStack({ worker: true });
  });
  afterAll(async () => {
    await stack?.close();
    await ses.stop();
  });

  it("a two-step campaign over SES: step 2's In-Reply-To / References are <id@eu-west-1.amazonses.com> of step 1", async () => {
    const provider = await newProvider(stack, 'ses', { region: 'eu-west-1', accessKeyId: 'AKIDTHREAD', secretAccessKey: 'secret', endpoint: sesUrl });
    const client = await newClient(stack);
    const c = await campaignWithLeads(stack, client, { providers: [provider.name], mailboxes: 1, leads: 3, steps: [0, 2 / 86_400] });
    await c.start();
    await c.waitDone(90_000);

    const { rows } = await stack.pool.query<{ email: string; step: number; id: string; provider_message_id: string; message_id_header: string }>(
      `SELECT l.email, s.step, s.id, s.provider_message_id, s.message_id_header FROM sends s JOIN leads l ON l.id = s.lead_id
       WHERE s.campaign_id = $1 ORDER BY l.email, s.step`,
      [c.campaignId],
    );
    expect(rows).toHaveLength(6);
    for (const email of c.emails) {
      const mails = ses.messages.filter((m) => m.to[0] === email);
      expect(mails).toHaveLength(2);
      const first = mails[0]!;
      const second = mails[1]!;
      const [s1, s2] = rows.filter((r) => r.email === email);
      // What the recipient got as step 1's Message-ID is SES's, and that is what the send recorded.
      expect(first.messageIdHeader).toBe(`<${first.messageId}@eu-west-1.amazonses.com>`);
      expect(s1!.message_id_header).toBe(first.messageIdHeader);
      expect(s1!.provider_message_id).toBe(first.messageId);
      // Step 2 answers it.
      expect(second.requestHeaders['in-reply-to']).toBe(first.messageIdHeader);
      expect(second.requestHeaders.references).toBe(first.messageIdHeader);
      expect(second.requestHeaders['in-reply-to']).not.toContain(s1!.id); // not our own id, which no recipient saw
      expect(s2!.message_id_header).toBe(second.messageIdHeader);
      // No Message-ID is sent to SES (it would replace it, and v2 refuses it as a custom header).
      expect(first.requestHeaders['message-id']).toBeUndefined();
      expect(second.requestHeaders['message-id']).toBeUndefined();
    }
  }, 120_000);
});

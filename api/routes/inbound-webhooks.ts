import busboy from 'busboy';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, badRequest } from '../../core/errors';
import { safeEqual } from '../../core/crypto';
import { readMailgunSignature, verifyMailgunSignature } from '../../core/webhooks/mailgun';
import { consumeWebhookToken, pruneWebhookTokens } from '../../db/repositories/events';
import { mailboxesByAddress } from '../../db/repositories/inbound';
import { ingestInbound, type InboundSource, type IngestResult } from '../../services/inbound/ingest';
import type { AppDeps } from '../deps';
import { CertificateCache, defaultFetcher, rawBody, unauthorized, verifiedSnsMessage, WEBHOOK_BODY_LIMIT } from './webhooks';

/** Largest raw message taken from a provider (SES's own limit for the SNS form is 150 KB; the others send up to 30 MB, refused past this). */
const MAX_INBOUND_BYTES = WEBHOOK_BODY_LIMIT;

/** Fields of a multipart/form-data (or url-encoded) body, files as their bytes. */
async function formFields(raw: Buffer, contentType: string | undefined): Promise<Map<string, string | Buffer>> {
  const fields = new Map<string, string | Buffer>();
  await new Promise<void>((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({ headers: { 'content-type': contentType ?? '' }, limits: { fieldSize: MAX_INBOUND_BYTES, fields: 200, files: 50, fileSize: MAX_INBOUND_BYTES } });
    } catch {
      reject(new AppError(415, 'unsupported_media_type', 'expected multipart/form-data or application/x-www-form-urlencoded'));
      return;
    }
    bb.on('field', (name, value) => {
      if (!fields.has(name)) fields.set(name, value);
    });
    bb.on('file', (name, stream) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if (!fields.has(name)) fields.set(name, Buffer.concat(chunks));
      });
    });
    bb.on('close', () => resolve());
    bb.on('error', () => reject(badRequest('unreadable form body', [{ path: '(body)', message: 'not a well-formed form' }])));
    bb.end(raw);
  });
  return fields;
}

const text = (v: string | Buffer | undefined) => (v === undefined ? undefined : typeof v === 'string' ? v : v.toString('utf8'));

/** Addresses in a To-like list (`a@x, "B" <b@y>`), lower-cased. */
function addressesIn(v: string | undefined): string[] {
  if (!v) return [];
  return [...new Set([...v.matchAll(/[^\s<>",;:()]+@[^\s<>",;:()]+/g)].map((m) => m[0].toLowerCase()))];
}

interface InboundReport {
  received: number;
  /** Recipients that are none of our mailboxes. */
  unknownRecipients: number;
  outcomes: IngestResult['outcome'][];
}

/**
 * Inbound mail through providers (issue 12, point 2): each request is
 * verified before anything is read into the database, then every recipient
 * that is one of our mailboxes gets the raw message through the same
 * ingestion pipeline as the IMAP watchers (services/inbound/ingest.ts),
 * bounded by that mailbox's client. A message seen before (a provider's
 * retry, a replay within the freshness window) is a no-op there.
 */
export function inboundWebhookRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { config } = deps;
  const certificates = new CertificateCache(deps.webhooks?.snsCertificateFetcher ?? defaultFetcher);
  const topics = new Set(config.SES_INBOUND_TOPIC_ARNS);

  async function deliver(req: FastifyRequest, source: InboundSource, raw: Buffer, recipients: string[]): Promise<InboundReport> {
    const mailboxes = await mailboxesByAddress(deps.pool, recipients);
    const log = req.log;
    const report: InboundReport = { received: mailboxes.length, unknownRecipients: recipients.length - mailboxes.length, outcomes: [] };
    for (const m of mailboxes) {
      const r = await ingestInbound(
        { pool: deps.pool, temporal: deps.temporal, config, box: deps.box, log },
        { source, scope: { mailboxId: m.mailboxId, clientId: m.clientId }, raw, receivedAt: new Date() },
      );
      report.outcomes.push(r.outcome);
    }
    return report;
  }

  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: WEBHOOK_BODY_LIMIT }, (_req, body, done) => done(null, body));
    const ok = (reply: FastifyReply, body: object) => reply.status(200).send(body);

    // SES receipt rule with an SNS action: the raw message is in the notification (`content`).
    scope.post('/webhooks/ses/inbound', { config: { auth: 'webhook' }, schema: { hide: true } }, async (req, reply) => {
      const m = await verifiedSnsMessage(req, certificates, topics, 'SES_INBOUND_TOPIC_ARNS');
      const age = Math.abs(Date.now() - Date.parse(m.Timestamp)) / 1000;
      if (!(age <= config.SES_INBOUND_MAX_AGE_SECONDS)) throw unauthorized('SNS Timestamp outside the allowed age (a replay)');
      if (m.Type !== 'Notification') {
        // Subscriptions to the inbound topic are confirmed by hand (the SubscribeURL is in the log); nothing is stored.
        req.log.warn({ topicArn: m.TopicArn, type: m.Type }, 'SNS subscription message on the inbound topic: confirm it in the AWS console');
        return ok(reply, { received: 0 });
      }
      let n: { notificationType?: string; content?: string; receipt?: { recipients?: unknown; action?: { encoding?: string } } };
      try {
        n = JSON.parse(m.Message) as typeof n;
      } catch {
        return ok(reply, { received: 0, ignored: 'Message is not an SES notification' });
      }
      if (n.notificationType !== 'Received') return ok(reply, { received: 0, ignored: 'not a Received notification' });
      if (typeof n.content !== 'string') return ok(reply, { received: 0, ignored: 'no content in the notification (S3 actions are not supported)' });
      const raw = Buffer.from(n.content, n.receipt?.action?.encoding === 'BASE64' ? 'base64' : 'utf8');
      const recipients = Array.isArray(n.receipt?.recipients) ? n.receipt.recipients.filter((r): r is string => typeof r === 'string') : [];
      return ok(reply, await deliver(req, 'ses', raw, recipients.map((r) => r.toLowerCase())));
    });

    // A Mailgun route's forward() to this URL (its name ends in `mime`: Mailgun posts the raw message as body-mime).
    scope.post('/webhooks/mailgun/inbound-mime', { config: { auth: 'webhook' }, schema: { hide: true } }, async (req, reply) => {
      if (!config.MAILGUN_WEBHOOK_SIGNING_KEY) throw unauthorized('Mailgun webhook is not configured (MAILGUN_WEBHOOK_SIGNING_KEY)');
      const fields = await formFields(rawBody(req), req.headers['content-type']);
      const signature = readMailgunSignature({ signature: { timestamp: text(fields.get('timestamp')), token: text(fields.get('token')), signature: text(fields.get('signature')) } });
      if (!signature) throw unauthorized('timestamp, token and signature are required');
      const maxAge = config.MAILGUN_WEBHOOK_MAX_AGE_SECONDS;
      const verdict = verifyMailgunSignature(config.MAILGUN_WEBHOOK_SIGNING_KEY, signature, { nowMs: Date.now(), maxAgeSeconds: maxAge });
      if (!verdict.ok) throw unauthorized(`Mailgun signature refused: ${verdict.reason}`);
      const mime = fields.get('body-mime');
      if (mime === undefined) throw badRequest('body-mime is required (point the route at a URL ending in "mime")', [{ path: 'body-mime', message: 'required' }]);
      if (!(await consumeWebhookToken(deps.pool, 'mailgun-inbound', signature.token))) throw unauthorized('Mailgun token already used (replay)');
      try {
        const recipients = addressesIn(text(fields.get('recipient')));
        const report = await deliver(req, 'mailgun', typeof mime === 'string' ? Buffer.from(mime, 'utf8') : mime, recipients);
        if (Math.random() < 0.01) await pruneWebhookTokens(deps.pool, maxAge * 2).catch(() => undefined);
        return ok(reply, report);
      } catch (err) {
        // Not applied: forget the token so Mailgun's retry is taken.
        await deps.pool.query("DELETE FROM webhook_tokens WHERE provider = 'mailgun-inbound' AND token = $1", [signature.token]).catch(() => undefined);
        throw err;
      }
    });

    // SendGrid Inbound Parse ("POST the raw, full MIME message"), at a secret path with basic auth in its URL.
    scope.post('/webhooks/sendgrid/inbound/:token', { config: { auth: 'webhook' }, schema: { hide: true } }, async (req, reply) => {
      const token = config.SENDGRID_INBOUND_TOKEN;
      const basic = config.SENDGRID_INBOUND_BASIC_AUTH;
      if (!token || !basic) throw unauthorized('SendGrid Inbound Parse is not configured (SENDGRID_INBOUND_TOKEN, SENDGRID_INBOUND_BASIC_AUTH)');
      const given = (req.params as { token?: string }).token ?? '';
      const header = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
      const credentials = header ? Buffer.from(header, 'base64').toString('utf8') : '';
      // Both checked, each in constant time, before the form is parsed or anything stored.
      const pathOk = safeEqual(given, token);
      const authOk = safeEqual(credentials, basic);
      if (!pathOk || !authOk) throw unauthorized('SendGrid Inbound Parse: wrong path token or credentials');
      const fields = await formFields(rawBody(req), req.headers['content-type']);
      const email = fields.get('email');
      if (email === undefined) throw badRequest('email is required (tick "POST the raw, full MIME message")', [{ path: 'email', message: 'required' }]);
      let recipients: string[] = [];
      try {
        const envelope = JSON.parse(text(fields.get('envelope')) ?? '{}') as { to?: unknown };
        if (Array.isArray(envelope.to)) recipients = envelope.to.filter((t): t is string => typeof t === 'string').map((t) => t.toLowerCase());
      } catch {
        recipients = [];
      }
      if (recipients.length === 0) recipients = addressesIn(text(fields.get('to')));
      return ok(reply, await deliver(req, 'sendgrid', typeof email === 'string' ? Buffer.from(email, 'utf8') : email, recipients));
    });
  });
}

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, badRequest } from '../../core/errors';
import { mailgunEvent, sendgridEvents, sesEvents } from '../../core/webhooks/events';
import { readMailgunSignature, verifyMailgunSignature } from '../../core/webhooks/mailgun';
import {
  SENDGRID_SIGNATURE_HEADER,
  SENDGRID_TIMESTAMP_HEADER,
  sendgridPublicKey,
  verifySendgridSignature,
} from '../../core/webhooks/sendgrid';
import { isSnsUrl, parseSnsMessage, verifySnsSignature, type SnsMessage } from '../../core/webhooks/sns';
import { consumeWebhookToken, pruneWebhookTokens } from '../../db/repositories/events';
import type { AppDeps } from '../deps';
import { applyFeedbackEvents, type FeedbackDeps } from '../../services/feedback';

/** Fetches a PEM certificate (only ever called with an https SNS URL). Injected in tests. */
export type SnsCertificateFetcher = (url: string) => Promise<string>;
/** Confirms an SNS subscription by GETting its SubscribeURL (only ever an https SNS URL). */
export type SnsSubscriptionConfirmer = (url: string) => Promise<void>;

export interface WebhookDeps {
  snsCertificateFetcher?: SnsCertificateFetcher;
  snsSubscriptionConfirmer?: SnsSubscriptionConfirmer;
}

declare module '../deps' {
  interface AppDeps {
    /** Outbound calls of the SES (SNS) webhook; real https fetches when unset. */
    webhooks?: WebhookDeps;
  }
}

export const WEBHOOK_BODY_LIMIT = 5 * 1024 * 1024;
export const unauthorized = (message: string) => new AppError(401, 'invalid_signature', message);

async function httpsGet(url: string, maxBytes: number): Promise<string> {
  const res = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  if (!res.ok) throw new Error(`GET ${new URL(url).host} answered ${res.status}`);
  if (text.length > maxBytes) throw new Error('response too large');
  return text;
}

export const defaultFetcher: SnsCertificateFetcher = (url) => httpsGet(url, 64 * 1024);
const defaultConfirmer: SnsSubscriptionConfirmer = async (url) => {
  await httpsGet(url, 64 * 1024);
};

/** Signing certificates by URL: SNS rotates them rarely, and each fetch is a round trip to AWS. */
export class CertificateCache {
  private readonly entries = new Map<string, { pem: string; at: number }>();
  constructor(private readonly fetcher: SnsCertificateFetcher, private readonly ttlMs = 24 * 3_600_000, private readonly max = 100) {}

  async get(url: string): Promise<string> {
    const hit = this.entries.get(url);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.pem;
    const pem = await this.fetcher(url);
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(url, { pem, at: Date.now() });
    return pem;
  }
}

export function rawBody(req: FastifyRequest): Buffer {
  if (!Buffer.isBuffer(req.body) || req.body.length === 0) throw badRequest('empty body', [{ path: '(body)', message: 'required' }]);
  return req.body;
}

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new AppError(400, 'invalid_json', 'body is not valid JSON');
  }
}

/**
 * Provider webhooks: each request is verified against its provider's
 * signature before anything is read into the database. The raw body is kept
 * (a buffer parser scoped to these routes) because signatures cover bytes,
 * not re-serialised JSON.
 */
/**
 * The SNS message of this request once it is proved genuine: parsed, from an accepted topic (`topicsSetting`
 * names the setting in the 401), and signed by an https SNS certificate. A 400 or 401 otherwise.
 */
export async function verifiedSnsMessage(
  req: FastifyRequest,
  certificates: CertificateCache,
  topics: Set<string>,
  topicsSetting: string,
): Promise<SnsMessage> {
  const parsed = parseSnsMessage(rawBody(req).toString('utf8'));
  if (!parsed.ok) throw badRequest(`not an SNS message: ${parsed.reason}`, [{ path: parsed.reason.split(':')[0]!, message: parsed.reason }]);
  const m = parsed.message;
  if (!topics.has(m.TopicArn)) throw unauthorized(`TopicArn is not an accepted topic (${topicsSetting})`);
  if (!isSnsUrl(m.SigningCertURL)) throw unauthorized('SigningCertURL is not an https SNS URL');
  let pem: string;
  try {
    pem = await certificates.get(m.SigningCertURL);
  } catch (err) {
    req.log.warn({ err: (err as Error).message }, 'SNS signing certificate could not be fetched');
    throw unauthorized('signing certificate could not be fetched');
  }
  if (!verifySnsSignature(m, pem)) throw unauthorized('SNS signature does not verify');
  return m;
}

export function webhookRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { config } = deps;
  const certificates = new CertificateCache(deps.webhooks?.snsCertificateFetcher ?? defaultFetcher);
  const confirm = deps.webhooks?.snsSubscriptionConfirmer ?? defaultConfirmer;
  const sendgridKey = config.SENDGRID_WEBHOOK_PUBLIC_KEY ? sendgridPublicKey(config.SENDGRID_WEBHOOK_PUBLIC_KEY) : null;
  const topics = new Set(config.SES_SNS_TOPIC_ARNS);

  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: WEBHOOK_BODY_LIMIT }, (_req, body, done) => done(null, body));
    const feedback = (req: FastifyRequest): FeedbackDeps => ({ pool: deps.pool, temporal: deps.temporal, config, box: deps.box, log: req.log });
    const ok = (reply: FastifyReply, body: object) => reply.status(200).send(body);

    scope.post('/webhooks/ses', { config: { auth: 'webhook' }, schema: { hide: true } }, async (req, reply) => {
      const m = await verifiedSnsMessage(req, certificates, topics, 'SES_SNS_TOPIC_ARNS');

      if (m.Type === 'SubscriptionConfirmation') {
        if (!isSnsUrl(m.SubscribeURL)) throw unauthorized('SubscribeURL is not an https SNS URL');
        await confirm(m.SubscribeURL!);
        req.log.info({ topicArn: m.TopicArn }, 'SNS subscription confirmed');
        return ok(reply, { confirmed: true });
      }
      if (m.Type === 'UnsubscribeConfirmation') {
        req.log.warn({ topicArn: m.TopicArn }, 'SNS subscription ended by AWS');
        return ok(reply, { received: 0 });
      }
      let message: unknown;
      try {
        message = JSON.parse(m.Message);
      } catch {
        return ok(reply, { received: 0, ignored: 'Message is not an SES event' });
      }
      const events = sesEvents(m.MessageId, message, new Date());
      const report = await applyFeedbackEvents(feedback(req), events);
      return ok(reply, { received: events.length, ...report });
    });

    scope.post('/webhooks/sendgrid', { config: { auth: 'webhook' }, schema: { hide: true } }, async (req, reply) => {
      if (!sendgridKey) throw unauthorized('SendGrid webhook is not configured (SENDGRID_WEBHOOK_PUBLIC_KEY)');
      const raw = rawBody(req);
      const header = (name: string) => {
        const v = req.headers[name];
        return Array.isArray(v) ? v[0] : v;
      };
      const verdict = verifySendgridSignature(
        sendgridKey,
        { signature: header(SENDGRID_SIGNATURE_HEADER), timestamp: header(SENDGRID_TIMESTAMP_HEADER), rawBody: raw },
        { nowMs: Date.now(), maxAgeSeconds: config.SENDGRID_WEBHOOK_MAX_AGE_SECONDS },
      );
      if (!verdict.ok) throw unauthorized(`SendGrid signature refused: ${verdict.reason}`);
      const batch = parseJson(raw);
      if (!Array.isArray(batch)) throw badRequest('expected a JSON array of events', [{ path: '(body)', message: 'must be an array' }]);
      const events = sendgridEvents(batch, new Date());
      const report = await applyFeedbackEvents(feedback(req), events);
      return ok(reply, { received: events.length, ...report });
    });

    scope.post('/webhooks/mailgun', { config: { auth: 'webhook' }, schema: { hide: true } }, async (req, reply) => {
      if (!config.MAILGUN_WEBHOOK_SIGNING_KEY) throw unauthorized('Mailgun webhook is not configured (MAILGUN_WEBHOOK_SIGNING_KEY)');
      const body = parseJson(rawBody(req));
      const signature = readMailgunSignature(body);
      if (!signature) throw unauthorized('signature.timestamp, signature.token and signature.signature are required');
      const maxAge = config.MAILGUN_WEBHOOK_MAX_AGE_SECONDS;
      const verdict = verifyMailgunSignature(config.MAILGUN_WEBHOOK_SIGNING_KEY, signature, { nowMs: Date.now(), maxAgeSeconds: maxAge });
      if (!verdict.ok) throw unauthorized(`Mailgun signature refused: ${verdict.reason}`);
      const event = mailgunEvent((body as Record<string, unknown>)['event-data'], new Date());
      // The token is recorded in the same transaction as the event: a replay is refused, a failed attempt can be retried.
      const guard = (db: Parameters<typeof consumeWebhookToken>[0]) => consumeWebhookToken(db, 'mailgun', signature.token);
      const report = await applyFeedbackEvents(feedback(req), event ? [event] : [], guard);
      if (!report) throw unauthorized('Mailgun token already used (replay)');
      if (Math.random() < 0.01) await pruneWebhookTokens(deps.pool, maxAge * 2).catch(() => undefined);
      return ok(reply, { received: event ? 1 : 0, ...report });
    });
  });
}

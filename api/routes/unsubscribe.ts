import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { uuidv7 } from '../../core/ids';
import { readUnsubscribeToken, unsubscribeKey } from '../../core/unsubscribe';
import { withTransaction } from '../../db/pool';
import { suppress } from '../../db/repositories/suppressions';
import type { AppDeps } from '../deps';

const page = (title: string, body: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>${title}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}button{font-size:1rem;padding:.6rem 1.2rem}</style>
</head><body><h1>${title}</h1>${body}</body></html>`;

const NOT_VALID = page('Link not valid', '<p>This unsubscribe link is not valid. Nothing was changed.</p>');

/** RFC 8058: the one-click body is `List-Unsubscribe=One-Click`, form-urlencoded or multipart. */
export function isOneClick(contentType: string | undefined, body: string): boolean {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded') {
    return new URLSearchParams(body).getAll('List-Unsubscribe').includes('One-Click');
  }
  if (type === 'multipart/form-data') {
    return /name="List-Unsubscribe"\r?\n(?:[^\r\n]+\r?\n)*\r?\nOne-Click\r?\n/.test(body);
  }
  return false;
}

/**
 * `/u/*`, not `/u/:token`: tokens (about 165 characters) are longer than
 * Fastify's default maxParamLength (100), which answers a parametric route
 * with 414; a wildcard is not subject to it.
 */
const tokenParams = z.strictObject({ '*': z.string().min(1).max(1000) });

/**
 * Recipient-facing unsubscribe: GET shows a confirm button (link scanners
 * follow GETs, so a GET changes nothing); POST with the RFC 8058 body
 * unsubscribes. Tokens are signed and name the client and the lead: a token
 * whose lead is not that client's changes nothing.
 */
export function unsubscribeRoutes(app: FastifyInstance, { pool, config }: AppDeps): void {
  const key = config.CREDENTIALS_KEY ? unsubscribeKey(config.CREDENTIALS_KEY) : null;
  const html = (reply: FastifyReply, status: number, body: string) =>
    reply.status(status).header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store').send(body);

  async function leadOf(token: string): Promise<{ id: string; clientId: string; status: string } | null> {
    const claims = key ? readUnsubscribeToken(key, token) : null;
    if (!claims || !/^[0-9a-f-]{36}$/i.test(claims.leadId) || !/^[0-9a-f-]{36}$/i.test(claims.clientId)) return null;
    const { rows } = await pool.query<{ id: string; status: string }>(
      'SELECT id, status FROM leads WHERE id = $1 AND client_id = $2',
      [claims.leadId, claims.clientId],
    );
    return rows[0] ? { ...rows[0], clientId: claims.clientId } : null;
  }

  void app.register(async (plain) => {
    const scope = plain.withTypeProvider<ZodTypeProvider>();
    scope.addContentTypeParser(['application/x-www-form-urlencoded', 'multipart/form-data'], { parseAs: 'string', bodyLimit: 16 * 1024 }, (_req, body, done) => done(null, body));

    scope.get('/u/*', { config: { auth: 'public' }, schema: { hide: true, params: tokenParams } }, async (req, reply) => {
      const lead = await leadOf(req.params['*']);
      if (!lead) return html(reply, 404, NOT_VALID);
      if (lead.status === 'unsubscribed') return html(reply, 200, page('You are unsubscribed', '<p>You will not get further emails from this sender.</p>'));
      return html(reply, 200, page('Unsubscribe', `<p>Stop receiving emails from this sender?</p>
<form method="post" action=""><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>`));
    });

    scope.post('/u/*', { config: { auth: 'public' }, schema: { hide: true, params: tokenParams } }, async (req, reply) => {
      const body = typeof req.body === 'string' ? req.body : '';
      if (!isOneClick(req.headers['content-type'], body)) {
        return html(reply, 400, page('Not understood', '<p>Expected <code>List-Unsubscribe=One-Click</code>. Nothing was changed.</p>'));
      }
      const lead = await leadOf(req.params['*']);
      if (!lead) return html(reply, 404, NOT_VALID);
      await withTransaction(pool, async (tx) => {
        const { rows } = await tx.query<{ email: string }>(
          `UPDATE leads SET status = CASE WHEN status IN ('pending', 'active', 'done', 'suppressed', 'held') THEN 'unsubscribed' ELSE status END,
                  next_due_at = NULL
           WHERE id = $1 AND client_id = $2 RETURNING email`,
          [lead.id, lead.clientId],
        );
        if (!rows[0]) return;
        await suppress(tx, lead.clientId, rows[0].email, 'unsubscribed');
        await tx.query(
          `INSERT INTO events (id, client_id, provider_kind, type, dedupe_key, payload, occurred_at)
           VALUES ($1, $2, 'link', 'unsubscribed', $3, $4, now()) ON CONFLICT (dedupe_key) DO NOTHING`,
          [uuidv7(), lead.clientId, `link:unsubscribe:${lead.id}`, JSON.stringify({ leadId: lead.id })],
        );
      });
      req.log.info({ clientId: lead.clientId, leadId: lead.id }, 'unsubscribed by link');
      return html(reply, 200, page('You are unsubscribed', '<p>You will not get further emails from this sender.</p>'));
    });
  });
}

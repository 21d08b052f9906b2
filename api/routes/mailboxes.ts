import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { badRequest, forbidden, notFound } from '../../core/errors';
import { errorResponse, idParams, text } from '../../core/schemas/common';
import { imapSettings, importMailboxesBody, listMailboxesQuery, patchMailboxBody, RESUMABLE_KINDS, resumeMailboxBody } from '../../core/schemas/mailboxes';
import { deleteImapSettings, imapViews, upsertImapSettings, type ImapSettingsView } from '../../db/repositories/mailbox-imap';
import { getClient } from '../../db/repositories/clients';
import { z } from 'zod';
import {
  deleteMailboxes,
  getMailbox,
  listMailboxes,
  type MailboxRecord,
} from '../../db/repositories/mailboxes';
import { mailboxWorkflowId } from '../../workflows/ids';
import { pauseUpdate, resumeUpdate, type MailboxLiveState } from '../../workflows/messages/mailbox';
import { mayResume } from '../../workflows/policy';
import { patchMailboxSettings } from '../../services/mailbox-settings';
import { wakeCampaignsUsingMailbox } from '../../services/campaign-wake';
import { mailboxLiveState, startMailboxWorkflows } from '../../services/mailbox';
import type { AppDeps } from '../deps';
import { importMailboxes } from '../../services/mailbox-import';
import { imapSettingsChanged, imapWatcherState, startImapWatchers, stopImapWatcher } from '../../services/imap-watcher';
import { ownerOf } from '../plugins/auth';

/** A mailbox's IMAP settings as shown: never the password. */
const imapView = (v: ImapSettingsView | undefined) =>
  v
    ? { host: v.host, port: v.port, tls: v.tls, user: v.user, status: v.status, lastError: v.lastError, lastSessionAt: v.lastSessionAt?.toISOString() ?? null }
    : null;

export const mailboxView = (m: MailboxRecord, imap?: ImapSettingsView) => ({
  id: m.id,
  address: m.address,
  displayName: m.displayName,
  pool: m.pool,
  providers: m.providers,
  timezone: m.timezone,
  window: m.window,
  limits: m.limits,
  warmup: m.warmup,
  status: m.status,
  pauses: m.pauses,
  imap: imapView(imap),
  createdAt: m.createdAt.toISOString(),
});

/**
 * The import's answer: what was created and each row's error. A 400 when no
 * row was created and a 422 when a domain is not the importer's carry it too
 * (the 422 with `error` naming the domain refusals); a body that fails
 * validation is the plain error format.
 */
const importAnswer = z.object({
  created: z.number().int(),
  ids: z.array(z.string()),
  errors: z.array(z.object({ index: z.number().int(), path: z.string(), message: z.string() })),
  error: errorResponse.shape.error.optional(),
});
const importAnswerOrError = z.union([importAnswer, errorResponse]);

export function mailboxRoutes(app: FastifyInstance, { pool, temporal, config, box }: AppDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post('/v1/mailboxes', {
    bodyLimit: 16 * 1024 * 1024, // 10,000 rows
    // A client imports its own mailboxes; the operator imports agency mailboxes that every client's campaigns may use.
    config: { auth: 'any' },
    schema: {
      tags: ['mailboxes'],
      body: importMailboxesBody,
      response: {
        201: importAnswer,
        400: importAnswerOrError.describe('no row imported (each row\'s error in `errors`), or a body that fails validation'),
        422: importAnswer.describe('an address at a domain the importer has not verified: nothing imported; `error.details` names each row'),
      },
    },
  }, async (req, reply) => {
    const clientId = ownerOf(req);
    const client = clientId ? await getClient(pool, clientId) : null;
    const imported = await importMailboxes(pool, clientId, req.body.mailboxes, {
      timezone: client?.timezone ?? 'UTC',
      box,
    });
    if (imported.domainRefused.length > 0) {
      const refused = imported.domainRefused;
      req.log.warn({ clientId, refused: refused.length }, 'mailbox import refused: addresses at domains the importer has not verified');
      // Only the domain refusals name the reason; the row's other errors come along in `errors`.
      return reply.status(422).send({
        created: 0,
        ids: [],
        errors: imported.errors,
        error: { code: 'domain_not_verified', message: 'addresses at domains you have not verified; nothing imported', details: refused.map((e) => ({ path: e.path, message: e.message })) },
      });
    }
    const errors = [...imported.errors];
    const failed = await startMailboxWorkflows(temporal, config.TEMPORAL_TASK_QUEUE, imported.inserted);
    // Inbox watchers of the mailboxes with IMAP settings; one that cannot start undoes its mailbox like a mailbox workflow that cannot.
    const startedIds = new Set(imported.inserted.map((m) => m.id));
    for (const f of failed) startedIds.delete(f.record.id);
    const toWatch = imported.inserted.filter((m) => startedIds.has(m.id) && imported.watched.includes(m.id));
    for (const w of await startImapWatchers(temporal, config, toWatch)) {
      const record = imported.inserted.find((m) => m.id === w.id)!;
      await temporal.workflow.getHandle(mailboxWorkflowId(record.address)).terminate('its inbox watcher could not be started').catch(() => undefined);
      failed.push({ record, error: `its inbox watcher: ${w.error}` });
    }
    if (failed.length) {
      await deleteMailboxes(pool, failed.map((f) => f.record.id));
      const indexOf = new Map(imported.inserted.map((m, i) => [m.id, imported.indexes[i]!]));
      for (const f of failed) {
        const index = indexOf.get(f.record.id)!;
        errors.push({ index, path: `mailboxes.${index}`, message: `could not start its workflow: ${f.error}` });
      }
      errors.sort((a, b) => a.index - b.index);
    }
    const failedIds = new Set(failed.map((f) => f.record.id));
    const inserted = imported.inserted.filter((m) => !failedIds.has(m.id));
    req.log.info({ clientId, created: inserted.length, rejected: errors.length }, 'mailboxes imported');
    return reply.status(inserted.length > 0 ? 201 : 400).send({
      created: inserted.length,
      ids: inserted.map((m) => m.id),
      errors,
      ...(inserted.length === 0 ? { error: { code: 'validation_failed', message: 'no mailbox imported', details: errors.map((e) => ({ path: e.path, message: e.message })) } } : {}),
    });
  });

  // A client sees its own mailboxes; the operator sees the agency's (client_id null). Neither ever sees the other's.
  r.get('/v1/mailboxes', { config: { auth: 'any' }, schema: { tags: ['mailboxes'], querystring: listMailboxesQuery } }, async (req) => {
    const afterId = req.query.cursor;
    const rows = await listMailboxes(pool, ownerOf(req), { ...req.query, afterId, limit: req.query.limit + 1 });
    const items = rows.slice(0, req.query.limit);
    const imap = await imapViews(pool, items.map((m) => m.id));
    return {
      items: items.map((m) => mailboxView(m, imap.get(m.id))),
      nextCursor: rows.length > req.query.limit ? items[items.length - 1]!.id : null,
    };
  });

  const mailboxOf = async (req: FastifyRequest & { params: { id: string } }): Promise<MailboxRecord> => {
    const m = await getMailbox(pool, ownerOf(req), req.params.id);
    if (!m) throw notFound('mailbox');
    return m;
  };

  r.get('/v1/mailboxes/:id', { config: { auth: 'any' }, schema: { tags: ['mailboxes'], params: idParams } }, async (req) => {
    const m = await mailboxOf(req);
    const imap = (await imapViews(pool, [m.id])).get(m.id);
    const live = await mailboxLiveState(temporal, m.address);
    return {
      ...mailboxView(live ? withLive(m, live) : m, imap),
      live,
      ...(imap ? { inboxWatcher: await imapWatcherState(temporal, m.address) } : {}),
    };
  });

  r.patch('/v1/mailboxes/:id', {
    config: { auth: 'any' },
    schema: {
      tags: ['mailboxes'],
      params: idParams,
      body: patchMailboxBody,
      description:
        'Changes a mailbox\'s limits, window, time zone, warm-up, providers, pool, display name or IMAP settings, validated as on import. ' +
        'The running mailbox takes them at once and keeps today\'s and this hour\'s counts, its reservations and cooldowns: ' +
        'a daily cap lowered below what it sent today stops it for the rest of the day. `limits` merge field by field; `imap: null` removes the inbox settings.',
    },
  }, async (req) => {
    const m = await mailboxOf(req);
    if (req.body.imap && !box) throw badRequest('IMAP settings cannot be stored here', [{ path: 'imap', message: 'no credentials key (CREDENTIALS_KEY) is configured' }]);
    const { record, live } = await patchMailboxSettings({ pool, temporal }, m, req.body);
    if (req.body.imap) {
      await upsertImapSettings(pool, box!, m.id, req.body.imap);
      await imapSettingsChanged(temporal, config, { id: m.id, address: m.address, clientId: m.clientId });
    } else if (req.body.imap === null) {
      await deleteImapSettings(pool, m.id);
      await stopImapWatcher(temporal, m.address);
    }
    req.log.info({ mailboxId: m.id, fields: Object.keys(req.body) }, 'mailbox settings changed');
    const shown = live ?? (await mailboxLiveState(temporal, m.address));
    return { ...mailboxView(shown ? withLive(record, shown) : record, (await imapViews(pool, [m.id])).get(m.id)), live: shown };
  });

  r.put('/v1/mailboxes/:id/imap', {
    config: { auth: 'any' },
    schema: {
      tags: ['mailboxes'],
      params: idParams,
      body: imapSettings,
      description:
        'Sets or replaces where the mailbox\'s own inbox is read (replies, auto-replies, bounces). The password is sealed at rest and never shown. ' +
        'A watcher that stopped on refused credentials tries the new ones at once; one is started if there was none.',
    },
  }, async (req) => {
    const m = await mailboxOf(req);
    await upsertImapSettings(pool, box, m.id, req.body);
    await imapSettingsChanged(temporal, config, { id: m.id, address: m.address, clientId: m.clientId });
    req.log.info({ mailboxId: m.id }, 'mailbox IMAP settings stored');
    return mailboxView(m, (await imapViews(pool, [m.id])).get(m.id));
  });

  r.delete('/v1/mailboxes/:id/imap', { config: { auth: 'any' }, schema: { tags: ['mailboxes'], params: idParams } }, async (req) => {
    const m = await mailboxOf(req);
    await deleteImapSettings(pool, m.id);
    await stopImapWatcher(temporal, m.address);
    return mailboxView(m);
  });

  // Fastify hands a missing body over as null.
  // No trimming: the schema's pattern (some non-space) is the whole rule, so the document and the route agree.
  const pauseBody = z.strictObject({ reason: text(200).regex(/\S/, 'must not be blank').optional() }).nullish();

  r.post('/v1/mailboxes/:id/pause', {
    config: { auth: 'any', bodyOptional: true },
    schema: {
      tags: ['mailboxes'],
      params: idParams,
      body: pauseBody,
      description: 'Adds the reason `user` to the mailbox\'s pause reasons (or refreshes it). It sends again once every reason is gone.',
    },
  }, async (req) => {
    const m = await mailboxOf(req);
    const by = req.principal?.kind === 'operator' ? 'the operator' : 'its owner';
    const live = await temporal.workflow
      .getHandle(mailboxWorkflowId(m.address))
      .executeUpdate(pauseUpdate, { args: [{ kind: 'user', reason: req.body?.reason ?? `paused through the API by ${by}` }] });
    return { ...mailboxView(withLive(m, live), (await imapViews(pool, [m.id])).get(m.id)), live };
  });

  r.post('/v1/mailboxes/:id/resume', {
    config: { auth: 'any', bodyOptional: true, errors: [403] }, // a client taking away a rest
    schema: {
      tags: ['mailboxes'],
      params: idParams,
      body: resumeMailboxBody,
      description:
        'Takes one reason away from the mailbox\'s pause reasons: `user` (the default), `misconfigured` (after fixing the provider account), or `rest` (the operator only). ' +
        'Any other reason stays, and the answer lists it: a mailbox whose domain fails its DNS check (`dns`) or is out of rotation (`domain`) resumes when the domain is usable again.',
    },
  }, async (req) => {
    const m = await mailboxOf(req);
    const kind = req.body?.kind ?? 'user';
    const actor = req.principal?.kind === 'operator' ? 'operator' : 'client';
    if (!mayResume(kind, actor)) throw forbidden(`a ${kind} pause is ended by the operator`, [{ path: 'kind', message: `a client may resume only ${RESUMABLE_KINDS.filter((k) => mayResume(k, 'client')).join(' and ')}` }]);
    const live = await temporal.workflow.getHandle(mailboxWorkflowId(m.address)).executeUpdate(resumeUpdate, { args: [{ kind }] });
    if (live.status !== 'paused') await wakeCampaignsUsingMailbox(pool, temporal, m.id, req.log); // a campaign stalled on it takes it back at once
    else req.log.info({ mailboxId: m.id, still: live.pauses.map((p) => p.kind) }, 'mailbox resumed from one reason; others remain');
    return { ...mailboxView(withLive(m, live), (await imapViews(pool, [m.id])).get(m.id)), live };
  });
}

/** The record as the workflow sees it now: its status and reasons are the workflow's (PostgreSQL follows a moment later). */
function withLive(m: MailboxRecord, live: MailboxLiveState): MailboxRecord {
  if (m.status === 'disabled') return m;
  return { ...m, status: live.status === 'paused' ? 'paused' : 'active', pauses: live.pauses };
}

import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { badRequest, conflict, forbidden, notFound } from '../../core/errors';
import {
  campaignDetail,
  campaignStatusAnswer,
  campaignView,
  createCampaignBody,
  listCampaignsFilter,
  patchCampaignBody,
  startCampaignBody,
  type CreateCampaignBody,
} from '../../core/schemas/campaigns';
import { sampleFigures } from '../../db/repositories/staging';
import { markReplied } from '../../db/repositories/lead-work';
import { cursorQuery, email, errorResponse, idParams, page } from '../../core/schemas/common';
import {
  campaignAsBody,
  campaignCounts,
  createCampaign,
  deleteDraftCampaign,
  getCampaign,
  listCampaigns,
  updateDraftCampaign,
  type CampaignRecord,
} from '../../db/repositories/campaigns';
import { listSends } from '../../db/repositories/sends';
import { sendStatus } from '../../core/schemas/sends';
import { countOwnedTemplates } from '../../db/repositories/templates';
import { stepTemplateIds, stepTemplatePath } from '../../core/schemas/campaign-variants';
import type { AppDeps } from '../deps';
import { checkCampaign } from '../../services/campaign-health';
import type { CampaignProgress } from '../../workflows/messages/campaign';
import { campaignProgress, resumeCampaign, startCampaign, steerCampaign } from '../../services/campaign';
import { campaignScheduleProblems } from '../../services/campaign-schedule';
import { clientIdOf, ownerOf } from '../plugins/auth';

const view = (c: CampaignRecord) => ({
  id: c.id,
  clientId: c.clientId,
  name: c.name,
  status: c.status,
  failureReason: c.status === 'failed' ? c.failureReason : null,
  failedAt: c.status === 'failed' ? (c.failedAt?.toISOString() ?? null) : null,
  steps: c.steps,
  mailboxes: c.mailboxSelector,
  window: c.window,
  timezone: c.timezone,
  startAt: c.startAt?.toISOString() ?? null,
  limits: c.limits,
  tracking: c.tracking,
  stopOnAutoReply: c.stopOnAutoReply,
  createdAt: c.createdAt.toISOString(),
  startedAt: c.startedAt?.toISOString() ?? null,
  finishedAt: c.finishedAt?.toISOString() ?? null,
  templateVersions: c.templateVersions ? Object.fromEntries(Object.entries(c.templateVersions).map(([id, v]) => [id, v.version])) : null,
  mode: c.runMode ?? 'live',
});

/** What create and edit check beyond the schema: the steps' templates are the client's, and the schedule can be met. */
async function checkCampaignBody(pool: AppDeps['pool'], clientId: string, body: CreateCampaignBody, checkStartAt = true): Promise<void> {
  const owned = await countOwnedTemplates(pool, clientId, body.steps.flatMap(stepTemplateIds));
  const missing = body.steps.flatMap((s, i) => stepTemplateIds(s).flatMap((id, j) => (owned.has(id) ? [] : [stepTemplatePath(i, s, j)])));
  if (missing.length) {
    throw badRequest('unknown template', missing.map((path) => ({ path, message: 'no such template' })));
  }
  const schedule = await campaignScheduleProblems(pool, clientId, checkStartAt ? body : { ...body, startAt: undefined }, Date.now());
  if (schedule.length) throw badRequest('invalid schedule', schedule);
}

const countsView = (counts: Record<string, number>) => ({
  pending: counts.lead_pending ?? 0,
  scheduled: (counts.send_sending ?? 0) + (counts.lead_active ?? 0),
  sent: (counts.send_sent ?? 0) + (counts.send_delivered ?? 0),
  failed: counts.send_failed ?? 0,
  unknown: counts.send_unknown ?? 0,
  bounced: counts.lead_bounced ?? 0,
  complained: counts.lead_complained ?? 0,
  unsubscribed: counts.lead_unsubscribed ?? 0,
  replied: counts.lead_replied ?? 0,
  suppressed: counts.lead_suppressed ?? 0,
  dryRun: counts.send_dry_run ?? 0,
  held: counts.lead_held ?? 0,
});

export function campaignRoutes(app: FastifyInstance, { pool, temporal, config }: AppDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post('/v1/campaigns', {
    config: { auth: 'client' },
    schema: { tags: ['campaigns'], body: createCampaignBody, response: { 201: campaignView, 400: errorResponse } },
  }, async (req, reply) => {
    const clientId = clientIdOf(req);
    await checkCampaignBody(pool, clientId, req.body);
    const c = await createCampaign(pool, clientId, req.body);
    return reply.status(201).send(view(c));
  });

  r.get('/v1/campaigns', {
    config: { auth: 'any', errors: [403] },
    schema: {
      tags: ['campaigns'],
      description: "A client's own campaigns, in id order; the operator's key sees every client's, or one client's with clientId (a client key naming another client is a 403).",
      querystring: z.strictObject({ ...listCampaignsFilter, ...cursorQuery }),
      response: { 200: page(campaignView) },
    },
  }, async (req) => {
    const caller = ownerOf(req);
    if (caller !== null && req.query.clientId !== undefined && req.query.clientId !== caller) {
      throw forbidden('clientId is for the operator key only', [{ path: 'clientId', message: 'a client key lists its own campaigns' }]);
    }
    const rows = await listCampaigns(pool, {
      clientId: caller ?? req.query.clientId ?? null,
      status: req.query.status,
      afterId: req.query.cursor,
      limit: req.query.limit + 1,
    });
    const items = rows.slice(0, req.query.limit);
    return { items: items.map(view), nextCursor: rows.length > req.query.limit ? items[items.length - 1]!.id : null };
  });

  r.patch('/v1/campaigns/:id', {
    config: { auth: 'client', errors: [409] },
    schema: {
      tags: ['campaigns'],
      params: idParams,
      body: patchCampaignBody,
      description: 'Edits a draft (a 409 once it has started): the fields given replace the stored ones (null clears window, timezone, startAt, limits), and the result is checked as a create is.',
      response: { 200: campaignView },
    },
  }, async (req) => {
    const clientId = clientIdOf(req);
    const c = await getCampaign(pool, clientId, req.params.id);
    if (!c) throw notFound('campaign');
    if (c.status !== 'draft') throw conflict(`campaign is ${c.status}; only a draft can be edited`, [{ path: 'status', message: c.status }]);
    const merged: Record<string, unknown> = { ...campaignAsBody(c) };
    for (const [k, v] of Object.entries(req.body)) {
      if (v === null) delete merged[k];
      else merged[k] = v;
    }
    const parsed = createCampaignBody.safeParse(merged);
    if (!parsed.success) {
      throw badRequest('the edited campaign is not valid', parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
    }
    // A stored startAt that has since passed is not this edit's fault: it is checked when the edit sets it.
    await checkCampaignBody(pool, clientId, parsed.data, req.body.startAt !== undefined && req.body.startAt !== null);
    const updated = await updateDraftCampaign(pool, clientId, c.id, parsed.data);
    if (!updated) throw notFound('campaign');
    if (updated === 'not_draft') throw conflict('the campaign has started meanwhile; only a draft can be edited');
    req.log.info({ clientId, campaignId: c.id, fields: Object.keys(req.body) }, 'campaign draft edited');
    return view(updated);
  });

  r.delete('/v1/campaigns/:id', {
    config: { auth: 'client', errors: [409] },
    schema: {
      tags: ['campaigns'],
      params: idParams,
      description: 'Deletes a draft with its leads, in one statement (a 409 once it has started: cancel it instead).',
      response: { 200: z.object({ id: z.string(), deleted: z.literal(true) }) },
    },
  }, async (req) => {
    const clientId = clientIdOf(req);
    const result = await deleteDraftCampaign(pool, clientId, req.params.id);
    if (!result) throw notFound('campaign');
    if (result === 'not_draft') {
      const c = await getCampaign(pool, clientId, req.params.id);
      throw conflict(`campaign is ${c?.status ?? 'not a draft'}; only a draft can be deleted`, [{ path: 'status', message: c?.status ?? 'unknown' }]);
    }
    req.log.info({ clientId, campaignId: req.params.id }, 'campaign draft deleted');
    return { id: req.params.id, deleted: true as const };
  });

  r.get('/v1/campaigns/:id', {
    config: { auth: 'client' },
    schema: {
      tags: ['campaigns'],
      params: idParams,
      description:
        "status 'failed': the campaign's workflow closed unexpectedly (terminated, failed, timed out, cancelled outside this API, or gone); " +
        'failureReason says how, and POST /v1/campaigns/:id/resume restarts it. A running or paused campaign is checked against its workflow on every read.',
      response: { 200: campaignDetail, 404: errorResponse },
    },
  }, async (req) => {
    const clientId = clientIdOf(req);
    const c = await getCampaign(pool, clientId, req.params.id);
    if (!c) throw notFound('campaign');
    /** The row follows the workflow: one closed unexpectedly makes it failed now (once, with its alert). */
    const followWorkflow = async (): Promise<{ c: CampaignRecord; progress: CampaignProgress | null }> => {
      if (c.status !== 'running' && c.status !== 'paused') return { c, progress: null };
      const health = { pool, temporal, log: req.log, alertWebhookUrl: config.ALERT_WEBHOOK_URL };
      const live = { id: c.id, clientId, status: c.status, statusChangedAt: c.statusChangedAt ?? c.startedAt ?? c.createdAt };
      const { workflow, failure } = await checkCampaign(health, live);
      if (failure) return { c: (await getCampaign(pool, clientId, c.id)) ?? c, progress: null };
      if (workflow.kind !== 'open') return { c, progress: null };
      const sums = { sent: shown.sent, failed: shown.failed, inFlight: counts.send_sending ?? 0 };
      return { c, progress: await campaignProgress(temporal, pool, c.id, sums) };
    };
    const counts = await campaignCounts(pool, c.id);
    const shown = countsView(counts);
    const now = await followWorkflow();
    const staged = now.c.runMode === 'staged' && now.c.stage
      ? { sample: now.c.sampleRatio ?? 0, stage: now.c.stage, ...(await sampleFigures(pool, c.id)) }
      : null;
    return { ...view(now.c), counts: shown, staged, progress: now.progress };
  });

  const steerResponses = { 200: campaignStatusAnswer, 404: errorResponse, 409: errorResponse };
  r.post('/v1/campaigns/:id/start', {
    config: { auth: 'client', bodyOptional: true }, // no body: a live start, as before run modes
    schema: {
      tags: ['campaigns'],
      params: idParams,
      description:
        "A draft starts. No body, or {mode: 'live'}: every lead. {mode: 'dry-run'}: the whole path (pacing, windows, caps, rendering, suppression, " +
        "threading) with no provider call, each send recorded as 'dry_run' with its preview; a mailbox's real caps are not consumed. " +
        "{mode: 'staged', sample: 0.01}: that share of the leads (at least one, chosen by hash) first, then 'awaiting_approval' until approve or cancel.",
      body: startCampaignBody.nullish(),
      response: { 202: campaignStatusAnswer, 404: errorResponse, 409: errorResponse },
    },
  }, async (req, reply) => {
    await startCampaign(pool, temporal, config.TEMPORAL_TASK_QUEUE, clientIdOf(req), req.params.id, req.body ?? { mode: 'live' });
    return reply.status(202).send({ status: 'running' });
  });

  for (const action of ['pause', 'cancel'] as const) {
    r.post(`/v1/campaigns/:id/${action}`, { config: { auth: 'client' }, schema: { tags: ['campaigns'], params: idParams, response: steerResponses } }, async (req) => {
      const status = await steerCampaign(pool, temporal, clientIdOf(req), req.params.id, action);
      return { status };
    });
  }
  r.post('/v1/campaigns/:id/resume', {
    config: { auth: 'client' },
    schema: {
      tags: ['campaigns'],
      params: idParams,
      description: "A paused campaign goes on; a failed one's workflow is started again (no lead gets a step twice). Anything else is a 409.",
      response: steerResponses,
    },
  }, async (req) => {
    const status = await resumeCampaign(pool, temporal, config.TEMPORAL_TASK_QUEUE, clientIdOf(req), req.params.id);
    return { status };
  });

  r.post('/v1/leads/reply', {
    config: { auth: 'client', errors: [404] }, // a campaignId that is not this client's
    schema: { tags: ['campaigns'], body: z.strictObject({ email, campaignId: z.uuid().optional() }) },
  }, async (req) => {
    const clientId = clientIdOf(req);
    if (req.body.campaignId && !(await getCampaign(pool, clientId, req.body.campaignId))) throw notFound('campaign');
    const stopped = await markReplied(pool, clientId, req.body.email, req.body.campaignId);
    return { replied: stopped };
  });

  r.get('/v1/campaigns/:id/sends', {
    config: { auth: 'client' },
    schema: {
      tags: ['campaigns'],
      params: idParams,
      querystring: z.strictObject({
        status: sendStatus.optional(),
        ...cursorQuery,
      }),
    },
  }, async (req) => {
    const clientId = clientIdOf(req);
    const c = await getCampaign(pool, clientId, req.params.id);
    if (!c) throw notFound('campaign');
    const afterId = req.query.cursor;
    const rows = await listSends(pool, clientId, c.id, { status: req.query.status, afterId, limit: req.query.limit + 1 });
    const items = rows.slice(0, req.query.limit);
    return { items, nextCursor: rows.length > req.query.limit ? items[items.length - 1]!.id as string : null };
  });
}

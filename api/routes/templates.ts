import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { badRequest, conflict, notFound } from '../../core/errors';
import { cursorQuery, idParams } from '../../core/schemas/common';
import { createTemplateBody, patchTemplateBody, PREVIEW_UNSUBSCRIBE_URL, previewTemplateBody } from '../../core/schemas/templates';
import { appendFooter } from '../../core/template/footer';
import { buildTemplateVars, renderEmail } from '../../core/template/render';
import { headerProblem } from '../../core/mail-headers';
import { checkTemplate, headerVariables } from '../../core/template/validate';
import { getClient } from '../../db/repositories/clients';
import {
  createTemplate,
  editTemplate,
  getTemplate,
  listTemplates,
  liveCampaignsUsingTemplate,
  lockTemplate,
  softDeleteTemplate,
  type TemplateRecord,
} from '../../db/repositories/templates';
import { withTransaction } from '../../db/pool';
import type { AppDeps } from '../deps';
import { clientIdOf } from '../plugins/auth';

const view = (t: TemplateRecord) => ({
  id: t.id,
  name: t.name,
  subject: t.subject,
  text: t.text,
  html: t.html,
  /** The latest version's number: 1 at creation, one more per PATCH. */
  version: t.version,
  createdAt: t.createdAt.toISOString(),
  updatedAt: t.updatedAt?.toISOString() ?? null,
});

/** The grammar's verdict as the API.md error (the same on create and edit). */
function assertValid(t: Parameters<typeof checkTemplate>[0]): void {
  const { issues, total } = checkTemplate(t);
  if (issues.length > 0) {
    const counted = total > issues.length ? ` (${total.toLocaleString('en-US')} issues; the first ${issues.length} are listed)` : '';
    throw badRequest(`template is not valid${counted}`, issues.map(({ path, message }) => ({ path, message })));
  }
}

export function templateRoutes(app: FastifyInstance, { pool }: AppDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post('/v1/templates', { config: { auth: 'client' }, schema: { tags: ['templates'], body: createTemplateBody } }, async (req, reply) => {
    const { variables, ...fields } = req.body;
    assertValid(req.body);
    const t = await createTemplate(pool, clientIdOf(req), fields);
    return reply.status(201).send({ ...view(t), variables: variables ?? [] });
  });

  r.get('/v1/templates', {
    config: { auth: 'client' },
    schema: { tags: ['templates'], querystring: z.strictObject(cursorQuery) },
  }, async (req) => {
    const afterId = req.query.cursor;
    const rows = await listTemplates(pool, clientIdOf(req), afterId, req.query.limit + 1);
    const items = rows.slice(0, req.query.limit);
    return { items: items.map(view), nextCursor: rows.length > req.query.limit ? items[items.length - 1]!.id : null };
  });

  r.get('/v1/templates/:id', { config: { auth: 'client' }, schema: { tags: ['templates'], params: idParams } }, async (req) => {
    const t = await getTemplate(pool, clientIdOf(req), req.params.id);
    if (!t) throw notFound('template');
    return view(t);
  });

  r.patch('/v1/templates/:id', {
    config: { auth: 'client' },
    schema: {
      tags: ['templates'],
      params: idParams,
      body: patchTemplateBody,
      description:
        'Makes a new version (the template grammar checked on the result, as on create); GET shows it. ' +
        'A campaign already started keeps sending the versions it started with.',
    },
  }, async (req) => {
    const clientId = clientIdOf(req);
    const { variables, ...changes } = req.body;
    const t = await withTransaction(pool, (tx) => editTemplate(tx, clientId, req.params.id, (current) => {
      const next = {
        name: changes.name ?? current.name,
        subject: changes.subject ?? current.subject,
        text: changes.text ?? current.text,
        html: changes.html === undefined ? current.html : changes.html,
      };
      // Placeholders the current version uses were accepted once (a create's variables are not stored): they stay known.
      const kept = [...headerVariables([current.subject, current.text, current.html ?? ''])];
      assertValid({ ...next, variables: [...(variables ?? []), ...kept] });
      return next;
    }));
    if (!t) throw notFound('template');
    req.log.info({ clientId, templateId: t.id, version: t.version }, 'template edited');
    return { ...view(t), variables: variables ?? [] };
  });

  r.delete('/v1/templates/:id', {
    config: { auth: 'client', errors: [409] },
    schema: {
      tags: ['templates'],
      params: idParams,
      description: 'Refused (409) while a running or paused campaign uses it; a draft naming it cannot start until its step is edited.',
      response: { 200: z.object({ id: z.string(), deleted: z.literal(true) }) },
    },
  }, async (req) => {
    const clientId = clientIdOf(req);
    await withTransaction(pool, async (tx) => {
      // The row lock first: a campaign starting now pins under FOR SHARE, so it either sees this delete or is seen below.
      if (!(await lockTemplate(tx, clientId, req.params.id))) throw notFound('template');
      const live = await liveCampaignsUsingTemplate(tx, clientId, req.params.id);
      if (live.length) {
        throw conflict('template is used by a running or paused campaign', live.map((id) => ({ path: 'campaigns', message: id })));
      }
      await softDeleteTemplate(tx, clientId, req.params.id);
    });
    req.log.info({ clientId, templateId: req.params.id }, 'template deleted');
    return { id: req.params.id, deleted: true as const };
  });

  // The email one lead would get from this template: spintax picked for that lead, footer included.
  r.post('/v1/templates/:id/preview', { config: { auth: 'client' }, schema: { tags: ['templates'], params: idParams, body: previewTemplateBody } }, async (req) => {
    const clientId = clientIdOf(req);
    const [t, client] = await Promise.all([getTemplate(pool, clientId, req.params.id), getClient(pool, clientId)]);
    if (!t || !client) throw notFound('template');
    const { lead, sender } = req.body;
    // The send would refuse a subject variable that could split the header (activities/send-step.activity.ts): so does its preview.
    for (const name of headerVariables([t.subject])) {
      const value = lead.vars?.[name];
      const problem = typeof value === 'string' ? headerProblem(value) : null;
      if (problem) throw badRequest('a variable of the subject cannot go into a mail header', [{ path: `lead.vars.${name}`, message: `used in the subject, ${problem}` }]);
    }
    const vars = buildTemplateVars(lead, { sender, unsubscribeUrl: PREVIEW_UNSUBSCRIBE_URL });
    const rendered = renderEmail(t, vars, lead.id ?? lead.email);
    const body = appendFooter(rendered, { physicalAddress: client.physical_address, unsubscribeUrl: PREVIEW_UNSUBSCRIBE_URL });
    return { subject: rendered.subject, text: body.text, html: body.html ?? null };
  });
}

import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { badRequest, notFound } from '../../core/errors';
import { cursorQuery, idParams } from '../../core/schemas/common';
import { createTemplateBody, PREVIEW_UNSUBSCRIBE_URL, previewTemplateBody } from '../../core/schemas/templates';
import { appendFooter } from '../../core/template/footer';
import { buildTemplateVars, renderEmail } from '../../core/template/render';
import { headerProblem } from '../../core/mail-headers';
import { checkTemplate, headerVariables } from '../../core/template/validate';
import { getClient } from '../../db/repositories/clients';
import { createTemplate, getTemplate, listTemplates, type TemplateRecord } from '../../db/repositories/templates';
import type { AppDeps } from '../deps';
import { clientIdOf } from '../plugins/auth';

const view = (t: TemplateRecord) => ({
  id: t.id,
  name: t.name,
  subject: t.subject,
  text: t.text,
  html: t.html,
  createdAt: t.createdAt.toISOString(),
});

export function templateRoutes(app: FastifyInstance, { pool }: AppDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post('/v1/templates', { config: { auth: 'client' }, schema: { tags: ['templates'], body: createTemplateBody } }, async (req, reply) => {
    const { variables, ...fields } = req.body;
    const { issues, total } = checkTemplate(req.body);
    if (issues.length > 0) {
      const counted = total > issues.length ? ` (${total.toLocaleString('en-US')} issues; the first ${issues.length} are listed)` : '';
      throw badRequest(`template is not valid${counted}`, issues.map(({ path, message }) => ({ path, message })));
    }
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

import type { FastifyInstance } from 'fastify';
import type { Readable } from 'node:stream';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { AppError, badRequest, conflict, notFound, type ErrorDetail } from '../../core/errors';
import { jsonLeadsBody } from '../../core/schemas/campaigns';
import { idParams } from '../../core/schemas/common';
import { headerVariables } from '../../core/template/validate';
import { getCampaign } from '../../db/repositories/campaigns';
import { getCampaignTemplate } from '../../db/repositories/templates';
import { LEAD_OPEN_STATUSES } from '../../db/repositories/leads';
import { privacyHashKey } from '../../core/privacy';
import type { AppDeps } from '../deps';
import { wakeCampaign } from '../../services/campaign-wake';
import {
  collectCsvLeads,
  importLeads,
  LeadCollector,
  MAX_CSV_BYTES,
  MAX_LEAD_COLUMNS,
  MAX_LEAD_ROWS,
  tooManyRows,
} from '../../services/lead-import';
import { clientIdOf } from '../plugins/auth';
import { stepTemplateIds } from '../../core/schemas/campaign-variants';

const JSON_BODY_LIMIT = 32 * 1024 * 1024;

function isCsv(contentType: string | undefined): boolean {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase() === 'text/csv';
}

/** zod issues in the API.md detail format (unknown fields named one by one). */
function zodDetails(issues: { path: PropertyKey[]; message: string; code?: string; keys?: string[] }[]): ErrorDetail[] {
  return issues.flatMap((issue) => {
    const base = issue.path.map(String);
    if (issue.code === 'unrecognized_keys' && issue.keys?.length) {
      return issue.keys.map((k) => ({ path: [...base, k].join('.'), message: 'unknown field' }));
    }
    return [{ path: base.join('.') || '(body)', message: issue.message }];
  });
}

/**
 * Lead uploads for a campaign: JSON `{leads: [{email, vars?}]}` or a streamed
 * `text/csv` file (rules in services/lead-import.ts). Both answer
 * `{accepted, duplicates, suppressed, invalid: [{row, message}]}`; in JSON,
 * `row` is the 0-based index into `leads`, in CSV the 1-based data row.
 */
export function leadRoutes(app: FastifyInstance, { pool, temporal, config }: AppDeps): void {
  const privacyKey = privacyHashKey(config);
  // Own scope, so the text/csv parser (which hands the raw stream on) applies to this route only.
  void app.register(async (scope) => {
    scope.addContentTypeParser('text/csv', (_req, payload, done) => done(null, payload));
    const r = scope.withTypeProvider<ZodTypeProvider>();

    r.post('/v1/campaigns/:id/leads', {
      config: { auth: 'client', errors: [409] },
      bodyLimit: JSON_BODY_LIMIT,
      schema: {
        tags: ['campaigns'],
        params: idParams,
        description:
          `JSON {leads: [{email, vars?}]} (up to ${MAX_LEAD_ROWS} leads) or text/csv with a header row and an email column ` +
          `(up to ${MAX_LEAD_ROWS} data rows and ${MAX_CSV_BYTES / (1024 * 1024)} MB; other columns become variables, ` +
          'headers camelCased: "First Name" → firstName). Invalid rows are reported, not fatal; ' +
          'CSV row numbers count data rows from 1, blank lines not counted.',
      },
    }, async (req) => {
      const clientId = clientIdOf(req);
      const c = await getCampaign(pool, clientId, req.params.id);
      if (!c) throw notFound('campaign');
      if (!LEAD_OPEN_STATUSES.includes(c.status)) {
        throw conflict(`campaign is ${c.status}; it takes no more leads`, [{ path: 'status', message: c.status }]);
      }

      // The variables the campaign's subjects render (the versions it sends): a value with a line break there would split the Subject header.
      const templates = await Promise.all([...new Set(c.steps.flatMap(stepTemplateIds))].map((id) => getCampaignTemplate(pool, clientId, id, c.templateVersions)));
      const headerVars = headerVariables(templates.flatMap((t) => (t ? [t.subject] : [])));

      let collected: LeadCollector;
      if (isCsv(req.headers['content-type'])) {
        const charset = /charset\s*=\s*"?([^";\s]+)/i.exec(req.headers['content-type'] ?? '')?.[1]?.toLowerCase();
        if (charset && !['utf-8', 'utf8', 'us-ascii'].includes(charset)) {
          throw new AppError(415, 'unsupported_media_type', `CSV must be UTF-8 (got charset=${charset})`);
        }
        const declared = Number(req.headers['content-length']);
        if (Number.isFinite(declared) && declared > MAX_CSV_BYTES) {
          throw new AppError(413, 'payload_too_large', `CSV uploads are at most ${MAX_CSV_BYTES / (1024 * 1024)} MB; nothing was imported`);
        }
        collected = await collectCsvLeads(req.body as Readable, {}, headerVars);
      } else {
        const leads = (req.body as { leads?: unknown } | null)?.leads;
        if (Array.isArray(leads) && leads.length > MAX_LEAD_ROWS) throw tooManyRows();
        // Bounded before zod walks them: a lead with 50,000 variables would be 50,000 checks and as many error details.
        if (Array.isArray(leads)) {
          leads.forEach((l: unknown, i) => {
            const vars = (l as { vars?: unknown } | null)?.vars;
            const n = vars !== null && typeof vars === 'object' && !Array.isArray(vars) ? Object.keys(vars).length : 0;
            if (n > MAX_LEAD_COLUMNS) {
              throw badRequest(`at most ${MAX_LEAD_COLUMNS} variables per lead; nothing was imported`, [
                { path: `leads.${i}.vars`, message: `at most ${MAX_LEAD_COLUMNS} variables per lead (got ${n.toLocaleString('en-US')})` },
              ]);
            }
          });
        }
        const parsed = jsonLeadsBody.safeParse(req.body);
        if (!parsed.success) {
          throw badRequest('invalid body', zodDetails(parsed.error.issues as Parameters<typeof zodDetails>[0]));
        }
        collected = new LeadCollector(headerVars);
        // `row` counts from 1 as in a CSV upload (the 2nd lead is row 2); the message names the JSON path.
        parsed.data.leads.forEach((l, i) => collected.add(i + 1, l.email, l.vars ?? {}, `leads.${i}.email`, `leads.${i}.vars.`));
      }
      const result = await importLeads(pool, clientId, c.id, collected, privacyKey);
      // A running campaign's idle lanes sleep without polling: tell it new leads are there.
      if (c.status === 'running' && result.accepted > 0) await wakeCampaign(temporal, c.id, req.log);
      return result;
    });
  });
}

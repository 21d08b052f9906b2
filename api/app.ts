import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Logger } from '../core/logger';
import type { AppDeps } from './deps';
import { declareScopeAudience, registerAuth } from './plugins/auth';
import { frameworkErrors, registerErrorHandler } from './plugins/error-handler';
import { markOptionalBodies, registerErrorResponses, type OptionalBodies } from './plugins/error-responses';
import { registerRateLimits } from './plugins/rate-limit';
import { alertRoutes } from './routes/alerts';
import { campaignStatsRoutes } from './routes/campaign-stats';
import { costRoutes } from './routes/costs';
import { campaignRoutes } from './routes/campaigns';
import { campaignStagingRoutes } from './routes/campaign-staging';
import { clientRoutes } from './routes/clients';
import { CODEC_COOKIE, codecRoutes } from './routes/codec';
import { domainRoutes } from './routes/domains';
import { healthRoutes } from './routes/health';
import { inboundWebhookRoutes } from './routes/inbound-webhooks';
import { leadRoutes } from './routes/leads';
import { mailboxRoutes } from './routes/mailboxes';
import { mailboxSendRoutes } from './routes/mailbox-sends';
import { metricsRoutes } from './routes/metrics';
import { providerRoutes } from './routes/providers';
import { privacyRoutes } from './routes/privacy';
import { providerSwitchRoutes } from './routes/provider-switches';
import { replyRoutes } from './routes/replies';
import { suppressionRoutes } from './routes/suppressions';
import { templateRoutes } from './routes/templates';
import { trackingRoutes } from './routes/tracking';
import { unsubscribeRoutes } from './routes/unsubscribe';
import { webhookRoutes } from './routes/webhooks';

export interface BuildAppOptions {
  logger?: Logger | false;
}

/** The HTTP API. Infrastructure comes in as deps; the caller owns and closes it. */
export async function buildApp(deps: AppDeps, opts: BuildAppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger as FastifyBaseLogger } : { logger: false }),
    bodyLimit: deps.config.API_BODY_LIMIT_BYTES,
    trustProxy: deps.config.TRUST_PROXY,
    frameworkErrors,
  }) as unknown as FastifyInstance;

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandler(app);
  // First of all hooks, before auth: a flood, or an address that keeps failing to authenticate, is refused before any key lookup.
  await registerRateLimits(app, { config: deps.config, sessionCookies: [CODEC_COOKIE] });
  registerAuth(app, { pool: deps.pool, adminApiKey: deps.config.ADMIN_API_KEY }); // before any route: it sees them all

  const optionalBodies: OptionalBodies = new Set();
  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: 'Outreach engine API',
        version: '1',
        description: 'Bearer keys: the operator key manages clients and providers; client keys see only their own client.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: (doc) => markOptionalBodies('openapiObject' in doc ? doc.openapiObject : doc.swaggerObject, optionalBodies),
  });
  // The docs are public; the UI plugin's routes take no config, so their scope declares it.
  await app.register(async (docs) => {
    declareScopeAudience(docs, 'public');
    await docs.register(fastifySwaggerUi, { routePrefix: '/docs' });
  });
  registerErrorResponses(app, optionalBodies); // before any API route: documents each one's error statuses

  metricsRoutes(app, deps); // first: its latency hook covers every route
  healthRoutes(app, deps);
  codecRoutes(app, deps);
  clientRoutes(app, deps);
  providerRoutes(app, deps);
  providerSwitchRoutes(app, deps);
  mailboxRoutes(app, deps);
  mailboxSendRoutes(app, deps);
  domainRoutes(app, deps);
  templateRoutes(app, deps);
  campaignRoutes(app, deps);
  campaignStatsRoutes(app, deps);
  costRoutes(app, deps);
  campaignStagingRoutes(app, deps);
  leadRoutes(app, deps);
  replyRoutes(app, deps);
  suppressionRoutes(app, deps);
  privacyRoutes(app, deps);
  alertRoutes(app, deps);
  webhookRoutes(app, deps);
  inboundWebhookRoutes(app, deps);
  unsubscribeRoutes(app, deps);
  trackingRoutes(app, deps);

  await app.ready();
  return app;
}

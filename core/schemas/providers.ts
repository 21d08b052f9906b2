import { z } from 'zod';
import { nonBlank } from './common';
import { pricing } from './pricing';

export const PROVIDER_KINDS = ['ses', 'sendgrid', 'mailgun', 'smtp'] as const;
export const providerKind = z.enum(PROVIDER_KINDS);
export type ProviderKind = z.infer<typeof providerKind>;

const endpoint = z.url().optional().describe('Override of the provider API base URL (tests, regional endpoints)');
const requestTimeoutMs = z
  .number()
  .int()
  .min(100)
  .max(120_000)
  .optional()
  .describe('Per-request timeout (default 30 s); a timeout after the request went out marks the send unknown, never re-sent');

export const smtpConfig = z.strictObject({
  host: nonBlank(1000),
  port: z.number().int().min(1).max(65535),
  secure: z.boolean().default(false),
  user: z.string().optional(),
  pass: z.string().optional(),
  requireTls: z.boolean().default(false),
  requestTimeoutMs,
});
export const sesConfig = z.strictObject({
  region: nonBlank(1000),
  accessKeyId: nonBlank(1000),
  secretAccessKey: nonBlank(1000),
  configurationSet: nonBlank(1000).optional(),
  endpoint,
  requestTimeoutMs,
});
export const sendgridConfig = z.strictObject({
  apiKey: nonBlank(1000),
  endpoint,
  requestTimeoutMs,
});
export const mailgunConfig = z.strictObject({
  apiKey: nonBlank(1000),
  domain: nonBlank(1000),
  endpoint,
  requestTimeoutMs,
});

export const createProviderBody = z.discriminatedUnion('kind', [
  z.strictObject({ name: nonBlank(100), kind: z.literal('smtp'), config: smtpConfig, pricing: pricing.optional() }),
  z.strictObject({ name: nonBlank(100), kind: z.literal('ses'), config: sesConfig, pricing: pricing.optional() }),
  z.strictObject({ name: nonBlank(100), kind: z.literal('sendgrid'), config: sendgridConfig, pricing: pricing.optional() }),
  z.strictObject({ name: nonBlank(100), kind: z.literal('mailgun'), config: mailgunConfig, pricing: pricing.optional() }),
]);
export type CreateProviderBody = z.infer<typeof createProviderBody>;
export type ProviderConfig = CreateProviderBody['config'];

/** Never includes the config: secrets are not echoed back. */
export const providerView = z.object({
  id: z.uuid(),
  name: z.string(),
  kind: providerKind,
  pricing: pricing.nullable(),
  createdAt: z.string(),
});

/** PATCH /v1/providers/:id: the account's pricing (null: no longer priced); later sends are costed at it. */
export const updateProviderBody = z.strictObject({ pricing: pricing.nullable() });

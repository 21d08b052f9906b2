import { z } from 'zod';

export const createTemplateBody = z.strictObject({
  name: z.string().trim().min(1).max(200),
  subject: z.string().min(1).max(998),
  text: z.string().min(1).max(100_000),
  html: z.string().min(1).max(500_000).optional(),
});

import { z } from 'zod';
import { timezone } from './common';

export const createClientBody = z.strictObject({
  name: z.string().trim().min(1).max(200),
  timezone: timezone.optional(),
  physicalAddress: z.string().trim().min(1).max(500).optional(),
});

export const clientCreated = z.object({ id: z.uuid(), apiKey: z.string() });
export const keyCreated = z.object({ id: z.uuid(), apiKey: z.string() });

import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { Config } from '../core/config';
import type { SecretBox } from '../core/crypto';

export interface AppDeps {
  config: Config;
  pool: Pool;
  temporal: Client;
  box: SecretBox;
}

import { loadConfigOrExit } from '../core/config';
import { migrate } from './migrate';
import { createPool } from './pool';

async function main(): Promise<void> {
  const config = loadConfigOrExit(process.env, ['DATABASE_URL']);
  const pool = createPool(config.DATABASE_URL!, 1);
  try {
    const applied = await migrate(pool);
    process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'schema up to date\n');
  } finally {
    await pool.end();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`migration failed: ${(err as Error).message}\n`);
  process.exit(1); // unlike fastify/demo's runner, a failed migration is a failed command
});

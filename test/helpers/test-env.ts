/** Values the jest global setup publishes to every test file through the environment. */
export const TEST_ENV = {
  databaseUrl: 'OUTREACH_TEST_DATABASE_URL',
  adminDatabaseUrl: 'OUTREACH_TEST_ADMIN_DATABASE_URL',
  temporalAddress: 'OUTREACH_TEST_TEMPORAL_ADDRESS',
  workflowBundle: 'OUTREACH_TEST_WORKFLOW_BUNDLE',
} as const;

export function testEnv(name: keyof typeof TEST_ENV): string {
  const v = process.env[TEST_ENV[name]];
  if (!v) throw new Error(`${TEST_ENV[name]} is not set: run tests through jest (test/helpers/global-setup.ts)`);
  return v;
}

/** The Postgres superuser-ish URL tests create databases with (.ci/run makes this role). */
export const DEFAULT_ADMIN_DATABASE_URL = 'postgres://outreach:outreach@127.0.0.1:5432/postgres';

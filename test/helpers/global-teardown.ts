export default async function globalTeardown(): Promise<void> {
  await globalThis.__OUTREACH_TEARDOWN__?.();
}

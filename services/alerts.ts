import type { Pool, PoolClient } from 'pg';
import { insertAlert, type AlertRow, type NewAlert } from '../db/repositories/alerts';

export interface AlertLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/**
 * An alert is three things: an alerts row (written in the caller's
 * transaction when it passes one), a warn log line, and — after the row is
 * committed — a JSON POST to ALERT_WEBHOOK_URL when that is set (see
 * notifyAlert). The message names ids, never addresses.
 */
export async function recordAlert(db: Pool | PoolClient, log: AlertLogger, alert: NewAlert): Promise<AlertRow> {
  const row = await insertAlert(db, alert);
  log.warn(
    { alertId: row.id, kind: row.kind, subjectType: row.subjectType, subjectId: row.subjectId, clientId: row.clientId },
    `alert: ${row.message}`,
  );
  return row;
}

/** POSTs the alert to the webhook; failures are logged, never thrown (the row is the record). */
export async function notifyAlert(url: string | undefined, log: AlertLogger, alert: AlertRow, timeoutMs = 5000): Promise<boolean> {
  if (!url) return false;
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        id: alert.id,
        kind: alert.kind,
        subjectType: alert.subjectType,
        subjectId: alert.subjectId,
        clientId: alert.clientId,
        message: alert.message,
        createdAt: alert.createdAt.toISOString(),
      }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.arrayBuffer().catch(() => undefined);
    if (!res.ok) log.error({ alertId: alert.id, status: res.status }, 'alert webhook answered with an error');
    return res.ok;
  } catch (err) {
    log.error({ alertId: alert.id, err: (err as Error).message }, 'alert webhook unreachable');
    return false;
  }
}

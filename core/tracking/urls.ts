/**
 * Where a send's open pixel and click links point: the client's tracking
 * host (a CNAME to the API, over PUBLIC_BASE_URL's scheme) or PUBLIC_BASE_URL.
 * `/t/o/<token>` is the pixel, `/t/c/<token>` a click (api/routes/tracking.ts).
 */
import type { TrackingPlan } from './rewrite';
import { makeTrackingToken } from './token';

export function trackingBase(publicBaseUrl: string, trackingDomain: string | null | undefined): string {
  const base = publicBaseUrl.replace(/\/$/, '');
  return trackingDomain ? `${new URL(base).protocol}//${trackingDomain}` : base;
}

export function trackingPlan(o: {
  key: Buffer;
  base: string;
  clientId: string;
  sendId: string;
  opens: boolean;
  clicks: boolean;
  /** Never tracked: it must work as it is (and List-Unsubscribe names it). */
  unsubscribeUrl: string;
}): TrackingPlan {
  const { key, base, clientId, sendId } = o;
  return {
    openUrl: o.opens ? `${base}/t/o/${makeTrackingToken(key, { kind: 'open', clientId, sendId })}` : null,
    clickUrl: o.clicks ? (linkIndex) => `${base}/t/c/${makeTrackingToken(key, { kind: 'click', clientId, sendId, linkIndex })}` : null,
    keep: (url) => url === o.unsubscribeUrl,
  };
}

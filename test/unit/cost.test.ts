import { engineRates, engineShare, perEmail, temporalPerEmailUsd } from '../../core/cost';

const rates = engineRates({ ACTIONS_PER_EMAIL: 5, TEMPORAL_PRICE_PER_MILLION_ACTIONS: 40, INFRA_MONTHLY_USD: 90, COST_PER_EMAIL_TARGET_USD: 0.08 });

describe('core/cost: the engine\'s share of the cost per email', () => {
  it('Temporal: the actions per email at the price per million', () => {
    expect(temporalPerEmailUsd(rates)).toBeCloseTo(0.0002, 15);
    expect(engineShare([{ sends: 1000, allSends: 1000 }], rates).temporalUsd).toBeCloseTo(0.2, 12);
  });

  it("infrastructure: each month's figure spread over every client's sends of that month, so a month's sends together carry it once", () => {
    // A client with 300 of March's 1,200 sends and all 50 of April's.
    const client = engineShare([{ sends: 300, allSends: 1200 }, { sends: 50, allSends: 50 }], rates);
    expect(client).toMatchObject({ sends: 350 });
    expect(client.infraUsd).toBeCloseTo(90 * 0.25 + 90, 12);
    // The other clients' 900 March sends carry the rest of March's figure.
    expect(client.infraUsd - 90 + engineShare([{ sends: 900, allSends: 1200 }], rates).infraUsd).toBeCloseTo(90, 12);
    expect(engineShare([], rates)).toEqual({ sends: 0, temporalUsd: 0, infraUsd: 0 });
  });

  it('per email: null when nothing was sent', () => {
    expect(perEmail(1.5, 3)).toBe(0.5);
    expect(perEmail(0, 0)).toBeNull();
  });
});

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { configSchema } from '../../core/config';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  depends_on?: Record<string, { condition: string }>;
  environment?: Record<string, string>;
  ports?: string[];
  healthcheck?: { test: unknown };
}

const compose = parse(readFileSync(path.join(__dirname, '../../docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
};
const configVars = new Set(Object.keys(configSchema.shape));

describe('docker-compose.yml', () => {
  it('has the production services', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      ['api', 'postgres', 'temporal', 'temporal-setup', 'temporal-ui', 'worker'].sort(),
    );
  });

  it('every dependency names a service that exists', () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      for (const dep of Object.keys(svc.depends_on ?? {})) {
        expect({ service: name, dependsOn: dep, exists: dep in compose.services }).toEqual({ service: name, dependsOn: dep, exists: true });
      }
    }
  });

  it.each(['api', 'worker'])('%s is built from the repo and sets only variables core/config.ts knows, including the required ones', (name) => {
    const svc = compose.services[name]!;
    expect(svc.build).toBe('.');
    const env = Object.keys(svc.environment ?? {});
    for (const v of env) expect({ variable: v, known: configVars.has(v) }).toEqual({ variable: v, known: true });
    for (const required of ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'ADMIN_API_KEY', 'CREDENTIALS_KEY']) expect(env).toContain(required);
    expect(svc.environment!.TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(svc.depends_on).toHaveProperty('postgres');
  });

  it('the entry points exist', () => {
    expect(compose.services.api!.command).toEqual(['npx', 'tsx', 'api/server.ts']);
    expect(compose.services.worker!.command).toEqual(['npx', 'tsx', 'worker/main.ts']);
  });

  it('publishes the API, Temporal and the Web UI on their documented ports, with health checks', () => {
    expect(compose.services.api!.ports).toContain('3000:3000');
    expect(compose.services.temporal!.ports).toContain('7233:7233');
    expect(compose.services['temporal-ui']!.ports).toContain('8233:8080');
    for (const name of ['postgres', 'temporal', 'api']) expect(compose.services[name]!.healthcheck).toBeDefined();
  });

  it('registers every custom search attribute the workflows use', () => {
    const cmd = JSON.stringify(compose.services['temporal-setup']!.command);
    for (const name of Object.keys(SEARCH_ATTRIBUTES)) expect(cmd).toContain(name);
  });
});

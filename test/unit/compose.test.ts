import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { configSchema, loadConfig, type Config } from '../../core/config';
import { METRIC_NAMES } from '../../core/metrics';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';

/**
 * docker-compose.yml cannot run here (no Docker engine), so this test reads
 * it the way compose would (YAML merge keys, ${VAR} interpolation) and checks
 * it against the code: services, images, ports, dependencies, health checks,
 * the engine's environment against core/config.ts, and the files it mounts.
 * `validate` returns every problem; the last tests prove it notices a
 * removed service or variable.
 */
const ROOT = path.join(__dirname, '../..');
const read = (f: string) => readFileSync(path.join(ROOT, f), 'utf8');

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  depends_on?: Record<string, { condition: string }>;
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  secrets?: string[];
  healthcheck?: { test: unknown };
  restart?: string;
}
interface Compose {
  services: Record<string, Service>;
  secrets?: Record<string, { environment?: string; file?: string }>;
  volumes?: Record<string, unknown>;
}

const RAW = read('docker-compose.yml');
const load = (): Compose => parse(RAW, { merge: true }) as Compose;

const EXPECTED_SERVICES: Record<string, { image: RegExp; ports: string[]; dependsOn: Record<string, string> }> = {
  postgres: { image: /^postgres:\d+/, ports: [], dependsOn: {} },
  temporal: { image: /^temporalio\/auto-setup:\d+\.\d+\.\d+$/, ports: ['127.0.0.1:7233:7233'], dependsOn: { postgres: 'service_healthy' } },
  'temporal-setup': { image: /^temporalio\/admin-tools:\d+\.\d+\.\d+$/, ports: [], dependsOn: { temporal: 'service_healthy' } },
  'temporal-ui': { image: /^temporalio\/ui:\d+\.\d+\.\d+$/, ports: ['127.0.0.1:8233:8080'], dependsOn: { temporal: 'service_healthy' } },
  api: { image: /^outreach-engine:/, ports: ['3000:3000'], dependsOn: { postgres: 'service_healthy', temporal: 'service_healthy' } },
  worker: {
    image: /^outreach-engine:/, ports: [],
    dependsOn: { postgres: 'service_healthy', 'temporal-setup': 'service_completed_successfully' },
  },
  prometheus: { image: /^prom\/prometheus:v\d+\.\d+\.\d+$/, ports: ['127.0.0.1:9090:9090'], dependsOn: { api: 'service_healthy' } },
  grafana: { image: /^grafana\/grafana:\d+\.\d+\.\d+$/, ports: ['127.0.0.1:3001:3000'], dependsOn: { prometheus: 'service_healthy' } },
};

/** The engine's environment per service: exactly these names, and these must be set for the entry point to start. */
const ENGINE_ENV: Record<'api' | 'worker', { names: string[]; required: (keyof Config)[] }> = {
  api: {
    names: ['NODE_ENV', 'LOG_LEVEL', 'DATABASE_URL', 'DATABASE_POOL_MAX', 'TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'TEMPORAL_TASK_QUEUE',
      'CREDENTIALS_KEY', 'TEMPORAL_PAYLOAD_KEY', 'TEMPORAL_PAYLOAD_OLD_KEYS', 'PUBLIC_BASE_URL', 'HOST', 'PORT', 'ADMIN_API_KEY', 'METRICS_TOKEN',
      'CODEC_CORS_ORIGINS'],
    required: ['DATABASE_URL', 'ADMIN_API_KEY', 'CREDENTIALS_KEY', 'METRICS_TOKEN', 'TEMPORAL_PAYLOAD_KEY'],
  },
  worker: {
    names: ['NODE_ENV', 'LOG_LEVEL', 'DATABASE_URL', 'DATABASE_POOL_MAX', 'TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'TEMPORAL_TASK_QUEUE',
      'CREDENTIALS_KEY', 'TEMPORAL_PAYLOAD_KEY', 'TEMPORAL_PAYLOAD_OLD_KEYS', 'PUBLIC_BASE_URL'],
    required: ['DATABASE_URL', 'CREDENTIALS_KEY', 'TEMPORAL_PAYLOAD_KEY'],
  },
};

/** Plausible values for the operator-supplied variables, to interpolate like compose does. */
const SAMPLE_ENV: Record<string, string> = {
  POSTGRES_PASSWORD: 'pg-secret',
  ADMIN_API_KEY: 'operator-key-0123456789',
  CREDENTIALS_KEY: Buffer.alloc(32, 7).toString('base64'),
  METRICS_TOKEN: 'metrics-token-0123456789',
  TEMPORAL_PAYLOAD_KEY: Buffer.alloc(32, 9).toString('base64'),
  GRAFANA_ADMIN_PASSWORD: 'grafana-secret',
  PUBLIC_BASE_URL: 'https://outreach.example.com',
};

/** Compose interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?message}, $$ (a literal $). */
function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(/\$\$|\$\{([A-Z0-9_]+)(?:(:?[-?])([^}]*))?\}/g, (all, name: string | undefined, op?: string, arg?: string) => {
    if (all === '$$') return '$';
    const v = env[name!];
    if (op === ':-' || op === '-') return v ?? arg ?? '';
    if ((op === ':?' || op === '?') && !v) throw new Error(`${name} is required: ${arg}`);
    return v ?? '';
  });
}

/** Every ${VAR} the file reads, and whether it is required (:?). */
function interpolatedVariables(raw: string): Map<string, boolean> {
  const vars = new Map<string, boolean>();
  for (const m of raw.matchAll(/\$\{([A-Z0-9_]+)(:?[-?])?/g)) vars.set(m[1]!, (vars.get(m[1]!) ?? false) || m[2]?.includes('?') === true);
  return vars;
}

function engineEnv(svc: Service): Record<string, string> {
  return Object.fromEntries(Object.entries(svc.environment ?? {}).map(([k, v]) => [k, interpolate(String(v), SAMPLE_ENV)]));
}

/** A published port, short syntax: `[HOST_IP:]HOST_PORT:CONTAINER_PORT[/PROTOCOL]`; no host IP means every interface. */
function published(port: string): { hostIp: string | null; hostPort: string; containerPort: string } {
  const parts = port.split('/')[0]!.split(':');
  const [containerPort, hostPort, ...ip] = [...parts].reverse();
  return { hostIp: ip.length ? [...ip].reverse().join(':').replace(/^\[|\]$/g, '') : null, hostPort: hostPort ?? containerPort!, containerPort: containerPort! };
}

/** The one service published beyond the host's loopback: everything else is for the operator on the host (or through a proxy). */
const PUBLIC_SERVICES = ['api'];

function hostOf(url: string): string {
  return new URL(url).hostname;
}

const configVars = new Set(Object.keys(configSchema.shape));

/** Every problem found in a compose document (empty = valid). */
function validate(doc: Compose): string[] {
  const problems: string[] = [];
  const services = doc.services ?? {};
  const names = Object.keys(services);
  for (const name of Object.keys(EXPECTED_SERVICES)) if (!names.includes(name)) problems.push(`service ${name} is missing`);
  for (const name of names) if (!(name in EXPECTED_SERVICES)) problems.push(`unexpected service ${name}`);

  for (const [name, want] of Object.entries(EXPECTED_SERVICES)) {
    const svc = services[name];
    if (!svc) continue;
    if (!svc.image || !want.image.test(svc.image) || svc.image.endsWith(':latest')) problems.push(`${name}: image ${svc.image} is not pinned as expected (${want.image})`);
    if (JSON.stringify([...(svc.ports ?? [])].sort()) !== JSON.stringify([...want.ports].sort())) {
      problems.push(`${name}: ports ${JSON.stringify(svc.ports ?? [])}, want ${JSON.stringify(want.ports)}`);
    }
    for (const p of svc.ports ?? []) {
      const { hostIp } = published(p);
      if (PUBLIC_SERVICES.includes(name)) continue;
      if (hostIp !== '127.0.0.1') problems.push(`${name}: port ${p} is published on ${hostIp ?? 'every interface'}; bind it to 127.0.0.1 (only the API is public)`);
    }
    const deps = Object.fromEntries(Object.entries(svc.depends_on ?? {}).map(([d, c]) => [d, c.condition]));
    if (JSON.stringify(deps) !== JSON.stringify(want.dependsOn)) problems.push(`${name}: depends_on ${JSON.stringify(deps)}, want ${JSON.stringify(want.dependsOn)}`);
    for (const [dep, condition] of Object.entries(deps)) {
      const target = services[dep];
      if (!target) problems.push(`${name} depends on missing service ${dep}`);
      else if (condition === 'service_healthy' && !target.healthcheck) problems.push(`${name} waits for ${dep} to be healthy, but ${dep} has no health check`);
      else if (condition === 'service_completed_successfully' && target.restart !== 'no') problems.push(`${dep} must be a one-shot (restart: "no")`);
    }
    if (name !== 'temporal-setup' && !svc.healthcheck) problems.push(`${name} has no health check`);
    for (const v of svc.volumes ?? []) {
      const source = v.split(':')[0]!;
      if (source.startsWith('./') && !existsSync(path.join(ROOT, source))) problems.push(`${name} mounts ${source}, which is not in the repo`);
      if (!source.startsWith('.') && !source.startsWith('/') && !(source in (doc.volumes ?? {}))) problems.push(`${name} uses undeclared volume ${source}`);
    }
  }

  for (const name of ['api', 'worker'] as const) {
    const svc = services[name];
    if (!svc) continue;
    if (svc.build !== '.') problems.push(`${name} must be built from the repo's Dockerfile (build: .)`);
    // Compiled code run by node (npm run build, in the Dockerfile's build stage): dist/<source>.js of the entry point.
    const source = name === 'api' ? 'api/server.ts' : 'worker/main.ts';
    const entry = `dist/${source.replace(/\.ts$/, '.js')}`;
    if (JSON.stringify(svc.command) !== JSON.stringify(['node', entry])) problems.push(`${name}: command ${JSON.stringify(svc.command)}`);
    if (!existsSync(path.join(ROOT, source))) problems.push(`${name}: ${entry} would be compiled from ${source}, which is not in the repo`);
    const env = engineEnv(svc);
    const keys = Object.keys(env);
    for (const k of keys) if (!configVars.has(k)) problems.push(`${name}: ${k} is not a variable core/config.ts knows`);
    for (const k of ENGINE_ENV[name].names) if (!keys.includes(k)) problems.push(`${name}: ${k} is not set`);
    for (const k of keys) if (!ENGINE_ENV[name].names.includes(k)) problems.push(`${name}: ${k} is set but not expected here`);
    try {
      const config = loadConfig(env, ENGINE_ENV[name].required);
      const temporalHost = config.TEMPORAL_ADDRESS.split(':')[0]!;
      if (!(temporalHost in services)) problems.push(`${name}: TEMPORAL_ADDRESS names no service (${temporalHost})`);
      if (config.DATABASE_URL && !(hostOf(config.DATABASE_URL) in services)) problems.push(`${name}: DATABASE_URL names no service`);
      if (name === 'api' && !(svc.ports ?? []).some((p) => p.endsWith(`:${config.PORT}`))) problems.push(`api: PORT ${config.PORT} is not the published container port`);
      if (name === 'api' && config.HOST !== '0.0.0.0') problems.push('api: HOST must be 0.0.0.0 inside a container');
    } catch (err) {
      problems.push(`${name}: its environment does not load: ${(err as Error).message}`);
    }
  }

  const ui = services['temporal-ui'];
  if (ui) {
    const env = Object.fromEntries(Object.entries(ui.environment ?? {}).map(([k, v]) => [k, interpolate(String(v), SAMPLE_ENV)]));
    if (env.TEMPORAL_ADDRESS !== 'temporal:7233') problems.push('temporal-ui: TEMPORAL_ADDRESS must be temporal:7233');
    const codec = env.TEMPORAL_CODEC_ENDPOINT ?? '';
    if (!/^https?:\/\/[^/]+(:3000)?\/codec$/.test(codec)) problems.push(`temporal-ui: TEMPORAL_CODEC_ENDPOINT ${codec || '(unset)'} must be the API's /codec`);
    if (env.TEMPORAL_CODEC_INCLUDE_CREDENTIALS !== 'true') problems.push('temporal-ui: TEMPORAL_CODEC_INCLUDE_CREDENTIALS must be "true" (the codec sign-in is a cookie)');
    const uiPort = (ui.ports ?? [])[0] ? published(ui.ports![0]!).hostPort : undefined;
    const api = services.api ? engineEnv(services.api) : {};
    if (uiPort && !(api.CODEC_CORS_ORIGINS ?? '').split(',').includes(`http://localhost:${uiPort}`)) {
      problems.push(`api: CODEC_CORS_ORIGINS must allow the Web UI's origin http://localhost:${uiPort}`);
    }
  }

  const setup = services['temporal-setup'];
  if (setup) {
    const cmd = JSON.stringify(setup.command);
    for (const sa of Object.keys(SEARCH_ATTRIBUTES)) if (!cmd.includes(sa)) problems.push(`temporal-setup does not register ${sa}`);
  }

  const prom = services.prometheus;
  if (prom) {
    const secret = (prom.secrets ?? [])[0];
    if (!secret || doc.secrets?.[secret]?.environment !== 'METRICS_TOKEN') problems.push('prometheus needs the metrics_token secret from METRICS_TOKEN');
    const cfg = parse(read('ops/prometheus.yml')) as {
      scrape_configs: { job_name: string; metrics_path?: string; authorization?: { credentials_file?: string }; static_configs: { targets: string[] }[] }[];
    };
    const job = cfg.scrape_configs.find((j) => j.static_configs.some((s) => s.targets.includes('api:3000')));
    if (!job) problems.push('ops/prometheus.yml does not scrape api:3000');
    else {
      if ((job.metrics_path ?? '/metrics') !== '/metrics') problems.push('ops/prometheus.yml: metrics_path must be /metrics');
      if (job.authorization?.credentials_file !== `/run/secrets/${secret}`) problems.push('ops/prometheus.yml: credentials_file must be the mounted secret');
    }
    if (!(prom.volumes ?? []).some((v) => v.startsWith('./ops/prometheus.yml:/etc/prometheus/prometheus.yml'))) problems.push('prometheus does not mount ops/prometheus.yml');
  }

  const grafana = services.grafana;
  if (grafana) {
    for (const mount of ['./ops/grafana/provisioning:/etc/grafana/provisioning', './ops/grafana/dashboards:/var/lib/grafana/dashboards']) {
      if (!(grafana.volumes ?? []).some((v) => v.startsWith(mount))) problems.push(`grafana does not mount ${mount}`);
    }
  }

  // Every variable the file reads is documented in its header and in the README's compose table.
  const readme = read('README.md');
  const header = RAW.split('\nname:')[0]!;
  for (const [v, required] of interpolatedVariables(RAW)) {
    if (!header.includes(v)) problems.push(`${v} is not documented in docker-compose.yml's header`);
    if (!new RegExp(`\\|\\s*\`${v}\`\\s*\\|\\s*${required ? 'required' : 'optional'}`).test(readme)) {
      problems.push(`${v} is not in README.md's compose table as ${required ? 'required' : 'optional'}`);
    }
    if (required && !(v in SAMPLE_ENV)) problems.push(`${v} is required but this test has no sample value for it`);
  }
  return problems;
}

describe('docker-compose.yml', () => {
  it('is valid: services, images, ports, dependencies, health checks, environment and mounted files', () => {
    expect(validate(load())).toEqual([]);
  });

  it('publishes only the API beyond the host: Temporal, the Web UI, Prometheus and Grafana bind 127.0.0.1', () => {
    const doc = load();
    const exposure = Object.fromEntries(Object.entries(doc.services).filter(([, svc]) => (svc.ports ?? []).length > 0)
      .map(([name, svc]) => [name, [...new Set(svc.ports!.map((p) => published(p).hostIp ?? 'all interfaces'))]]));
    expect(exposure).toEqual({
      temporal: ['127.0.0.1'], 'temporal-ui': ['127.0.0.1'], prometheus: ['127.0.0.1'], grafana: ['127.0.0.1'], api: ['all interfaces'],
    });
    // The README says so, and says how to put the Web UI behind authentication.
    const readme = read('README.md');
    for (const [service, port] of [['temporal', '7233'], ['temporal-ui', '8233'], ['prometheus', '9090'], ['grafana', '3001']]) {
      expect(readme).toMatch(new RegExp(`\\| \`${service}\` \\| [^|]+ \\| \`127\\.0\\.0\\.1:${port}\` \\|`));
    }
    for (const setting of ['TEMPORAL_AUTH_ENABLED', 'TEMPORAL_AUTH_PROVIDER_URL', 'TEMPORAL_AUTH_CLIENT_ID', 'TEMPORAL_AUTH_CLIENT_SECRET', 'TEMPORAL_AUTH_CALLBACK_URL']) {
      expect(readme).toContain(setting);
    }
  });

  it('every operator variable is interpolated, so the file itself holds no secret', () => {
    const vars = interpolatedVariables(RAW);
    for (const secret of ['POSTGRES_PASSWORD', 'ADMIN_API_KEY', 'CREDENTIALS_KEY', 'METRICS_TOKEN', 'TEMPORAL_PAYLOAD_KEY', 'GRAFANA_ADMIN_PASSWORD']) {
      expect({ secret, required: vars.get(secret) }).toEqual({ secret, required: true });
    }
  });

  it('the Dockerfile copies every folder the entry points import, and .dockerignore keeps local state out', () => {
    const dockerfile = read('Dockerfile');
    for (const dir of ['api', 'activities', 'services', 'core', 'db', 'workflows', 'worker']) expect(dockerfile).toMatch(new RegExp(`^COPY ${dir} \\./${dir}$`, 'm'));
    expect(dockerfile).toMatch(/^USER node$/m);
    const ignore = read('.dockerignore').split('\n');
    for (const entry of ['node_modules', '.data', '.env']) expect(ignore).toContain(entry);
  });

  it("the Grafana dashboard is valid JSON and charts only metrics the API exports", () => {
    const dashboard = JSON.parse(read('ops/grafana/dashboards/outreach-engine.json')) as { panels: { title: string; targets: { expr: string }[] }[] };
    const known = new Set<string>(Object.values(METRIC_NAMES).flatMap((n) => [n, `${n}_bucket`, `${n}_count`, `${n}_sum`]));
    const used = new Set<string>();
    for (const p of dashboard.panels) {
      expect(p.targets.length).toBeGreaterThan(0);
      for (const t of p.targets) for (const m of t.expr.matchAll(/\b(outreach_[a-z_]+)/g)) used.add(m[1]!);
    }
    for (const m of used) expect({ metric: m, exported: known.has(m) || m.startsWith('outreach_api_') }).toEqual({ metric: m, exported: true });
    for (const name of Object.values(METRIC_NAMES)) expect([...used].some((u) => u.startsWith(name))).toBe(true);
    const datasource = parse(read('ops/grafana/provisioning/datasources/prometheus.yml')) as { datasources: { url: string }[] };
    expect(datasource.datasources[0]!.url).toBe('http://prometheus:9090');
  });

  describe('notices what is missing', () => {
    it.each(Object.keys(EXPECTED_SERVICES))('service %s removed', (name) => {
      const doc = load();
      delete doc.services[name];
      expect(validate(doc)).toContain(`service ${name} is missing`);
    });

    it.each([
      ...ENGINE_ENV.api.names.map((v) => ['api', v]),
      ...ENGINE_ENV.worker.names.map((v) => ['worker', v]),
    ])('%s variable %s removed', (service, variable) => {
      const doc = load();
      delete doc.services[service]!.environment![variable];
      expect(validate(doc)).toContain(`${service}: ${variable} is not set`);
    });

    it.each([['temporal-ui', '8233:8080'], ['prometheus', '0.0.0.0:9090:9090'], ['grafana', '3001:3000'], ['temporal', '7233:7233']])(
      '%s published on every interface (%s)', (service, port) => {
        const doc = load();
        doc.services[service]!.ports = [port];
        expect(validate(doc)).toContainEqual(expect.stringMatching(new RegExp(`^${service}: port ${port} is published on (every interface|0\\.0\\.0\\.0); bind it to 127\\.0\\.0\\.1`)));
      },
    );

    it('an unknown variable, a broken value, a dependency on a missing service, a dropped health check', () => {
      const doc = load();
      doc.services.worker!.environment!.DATABASE_PASSWORD = 'x';
      doc.services.api!.environment!.PORT = 'http';
      doc.services.grafana!.depends_on = { prom: { condition: 'service_healthy' } };
      delete doc.services.postgres!.healthcheck;
      const problems = validate(doc);
      expect(problems).toContain('worker: DATABASE_PASSWORD is not a variable core/config.ts knows');
      expect(problems.some((p) => p.startsWith('api: its environment does not load: Invalid configuration:') && p.includes('PORT'))).toBe(true);
      expect(problems).toContain('grafana depends on missing service prom');
      expect(problems).toContain('postgres has no health check');
      expect(problems).toContain('temporal waits for postgres to be healthy, but postgres has no health check');
    });
  });
});

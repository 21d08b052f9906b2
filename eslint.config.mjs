import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

/**
 * The house by folder: each layer imports only those below it.
 *
 *   core/              shared types, schemas, crypto, config, pure helpers
 *   workflows/policy/  the pure sending rules (no Temporal, no I/O)
 *   db/                PostgreSQL: migrations, pool, repositories
 *   services/          domain services the API and the worker share
 *   activities/        Temporal activities (the worker's I/O)
 *   api/, worker/      the two processes
 *
 * Workflow bodies (workflows/*.workflow.ts) stand apart: the processes name
 * them by type only, and talk to them through workflows/messages/ (message
 * definitions only). `import type` is always allowed: it leaves no code behind.
 */
const up = (names) => names.flatMap((n) => [`../${n}`, `../${n}/**`, `../../${n}`, `../../${n}/**`, `../../../${n}/**`]);
const workflowBodies = ['../workflows/*.workflow', '../../workflows/*.workflow', './*.workflow', '../*.workflow'];
const layer = (files, forbidden, message, allowTypeImports = true) => ({
  files,
  rules: {
    '@typescript-eslint/no-restricted-imports': ['error', { patterns: [{ group: forbidden, allowTypeImports, message }] }],
  },
});

export default tseslint.config(
  { ignores: ['node_modules/**', '.data/**', 'dist/**', 'coverage/**', '*.js', '*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  layer(['core/**/*.ts'], up(['db', 'services', 'activities', 'api', 'worker', 'workflows']), 'core/ is the lowest layer: it imports no other folder of the project.'),
  layer(['workflows/policy/**/*.ts'], [...up(['db', 'services', 'activities', 'api', 'worker']), '../messages', '../messages/**', ...workflowBodies], 'workflows/policy/ is pure: core/ only.'),
  layer(['db/**/*.ts'], [...up(['services', 'activities', 'api', 'worker']), '../../workflows/messages/**', ...workflowBodies], 'db/ imports core/ and workflows/policy/ only; shared types live in core/.'),
  layer(['services/**/*.ts'], [...up(['activities', 'api', 'worker']), ...workflowBodies], 'services/ sit below activities/ and api/; workflows by type and messages only.'),
  layer(['activities/**/*.ts'], [...up(['api', 'worker']), ...workflowBodies], 'activities/ sit below api/ and worker/; shared code goes to services/.'),
  layer(['api/**/*.ts'], [...up(['worker', 'activities']), ...workflowBodies], 'api/ uses services/ (shared with the worker) and workflow messages, never activities or workflow bodies.'),
  {
    // Workflow code runs in Temporal's deterministic sandbox: no Node built-ins,
    // no I/O libraries, no process.env. Only types may be imported from activities.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: nodeBuiltins.map((name) => ({ name, message: 'Workflows must not import Node built-ins.' })),
        patterns: [
          { group: ['pg', 'fastify', 'nodemailer', '@temporalio/client', '@temporalio/worker', '@temporalio/activity', '../activities/*', '../db/*', '../api/*', '../services/*', '../worker/*', '../../activities/*', '../../db/*', '../../api/*', '../../services/*'], allowTypeImports: true, message: 'Workflows import activity types only; no I/O libraries.' },
        ],
      }],
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Workflows must not read the environment.' }],
      'no-restricted-globals': ['error', { name: 'process', message: 'No process in workflows.' }],
    },
  },
);

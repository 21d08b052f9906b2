/**
 * Unit tests of the pure mailbox policy only: no servers, so no globalSetup.
 * Run: npx jest -c test/unit/policy/jest.unit.config.js
 */
/* global module */
/** @type {import('jest').Config} */
module.exports = {
  rootDir: '../../..',
  testEnvironment: 'node',
  roots: ['<rootDir>/test/unit/policy'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
};

/**
 * The layer rules, checked by test/unit/architecture.test.ts (so `npm test` and CI enforce them).
 * The core holds the rules and the ports; everything else depends on it, never the other way.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'A module never reaches itself through its imports, types included.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'core-stays-inside',
      severity: 'error',
      comment: 'core/ (rules, services, ports) imports no backend, no transport, no client.',
      from: { path: '^src/core/' },
      to: { path: '^src/(store|http|cli|dispatch|auth|web)/' },
    },
    {
      name: 'routes-reach-no-backend',
      severity: 'error',
      comment: 'HTTP routes talk to services and ports, never to a storage backend.',
      from: { path: '^src/http/' },
      to: { path: '^src/store/' },
    },
    {
      name: 'dispatch-and-auth-reach-no-backend',
      severity: 'error',
      from: { path: '^src/(dispatch|auth)/' },
      to: { path: '^src/store/' },
    },
    {
      name: 'dashboard-is-apart',
      severity: 'error',
      comment: 'The dashboard is built for the browser: it shares nothing with the server but what it imports from core/ for display.',
      from: { path: '^src/web/' },
      to: { path: '^src/(store|http|cli|dispatch|auth)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    exclude: { path: '^(node_modules|dist)/' },
  },
};

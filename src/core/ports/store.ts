import type { AccessStore } from './access.js';
import type { AtmosUploadStore } from './atmos-uploads.js';
import type { DashboardSessionStore } from './dashboard-sessions.js';
import type { DispatchStore } from './dispatches.js';
import type { GitHubEventStore } from './github-events.js';
import type { LeaseStore } from './leases.js';
import type { LockStore } from './locks.js';

/**
 * A backend: the lock port, with the narrower ports beside it as members, so each route or
 * service is handed only the port it needs. Every backend provides all of them.
 */
export interface Store extends LockStore {
  readonly access: AccessStore;
  readonly atmos: AtmosUploadStore;
  readonly dashboardSessions: DashboardSessionStore;
  readonly leases: LeaseStore;
  readonly dispatches: DispatchStore;
  readonly githubEvents: GitHubEventStore;
}

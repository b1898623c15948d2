import type { AccessStore } from './access-store.js';
import type { AtmosUploadStore } from './atmos-upload-store.js';
import type { DashboardSessionStore } from './dashboard-session-store.js';
import type { DispatchStore } from './dispatch-store.js';
import type { GitHubEventStore } from './github-event-store.js';
import type { LeaseStore } from './lease-store.js';
import type { LockStore } from './lock-store.js';

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

import type { Authenticate } from '../auth/authenticate.js';
import type { OidcExchange } from '../auth/oidc-sessions.js';
import type { Config } from '../config.js';
import type { Clock } from '../core/clock.js';
import type { LockService } from '../core/lock-service.js';
import type { Store } from '../core/ports/store.js';
import type { AtmosFlow } from '../dispatch/atmos-flow.js';
import type { AtmosUploads } from '../dispatch/atmos-uploads.js';
import type { DispatchService } from '../dispatch/dispatch-service.js';
import type { Metrics } from './metrics.js';

/** What route plugins receive: in a file of its own, so that routes and the app that registers them do not import each other. */
export interface AppContext {
  readonly config: Config;
  readonly store: Store;
  readonly locks: LockService;
  readonly metrics: Metrics;
  readonly authenticate: Authenticate;
  readonly clock: Clock;
  readonly oidc: OidcExchange;
  readonly atmosUploads: AtmosUploads;
  readonly dispatches: DispatchService;
  readonly atmosFlow: AtmosFlow;
}

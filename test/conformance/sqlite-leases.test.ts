import { sqliteHarness } from './harnesses.js';
import { leaseStoreConformance } from './lease-store-suite.js';

leaseStoreConformance('sqlite', sqliteHarness('stacklock-lease-conformance-'));

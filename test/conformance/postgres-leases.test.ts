import { postgresHarness } from './harnesses.js';
import { leaseStoreConformance } from './lease-store-suite.js';

leaseStoreConformance('postgres', postgresHarness());

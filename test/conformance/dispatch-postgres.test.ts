import { dispatchStoreConformance } from './dispatch-store-suite.js';
import { postgresHarness } from './harnesses.js';

dispatchStoreConformance('postgres', postgresHarness());

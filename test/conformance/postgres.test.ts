import { postgresHarness } from './harnesses.js';
import { lockStoreConformance } from './lock-store-suite.js';

lockStoreConformance('postgres', postgresHarness());

import { sqliteHarness } from './harnesses.js';
import { lockStoreConformance } from './lock-store-suite.js';

lockStoreConformance('sqlite', sqliteHarness('stacklock-conformance-'));

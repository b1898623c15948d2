import { dispatchStoreConformance } from './dispatch-store-suite.js';
import { sqliteHarness } from './harnesses.js';

dispatchStoreConformance('sqlite', sqliteHarness('stacklock-dispatch-'));

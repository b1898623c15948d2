#!/usr/bin/env node
// The CLI entry point; the TypeScript sources are compiled to dist/ at install time (npm's prepare).
import '../dist/cli/main.js';

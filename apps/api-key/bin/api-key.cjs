#!/usr/bin/env node
'use strict';
// The CLI is TypeScript run from source; tsx compiles it on load, as `npm run api-key` does.
require('tsx/cjs/api').register();
require('../src/main.ts');

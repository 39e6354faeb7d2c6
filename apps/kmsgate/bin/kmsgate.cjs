#!/usr/bin/env node
'use strict';
// The CLI is TypeScript run from source; tsx compiles it on load.
require('tsx/cjs/api').register();
require('../src/main.ts');

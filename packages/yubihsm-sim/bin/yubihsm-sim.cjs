#!/usr/bin/env node
// The simulator runs from its TypeScript sources; tsx (a root devDependency) compiles on load.
'use strict';
require('tsx/cjs/api').register();
require('../src/main.ts');

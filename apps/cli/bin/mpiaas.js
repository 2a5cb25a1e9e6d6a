#!/usr/bin/env node
// Executable entry (committed with its mode bit; the compiled main.js is not executable).
require('../dist/main.js');

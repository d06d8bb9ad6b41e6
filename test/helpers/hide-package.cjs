// Preloaded with --require: makes an npm package unresolvable, as if it were not installed.
const Module = require('node:module');
const hidden = process.env.QUIVER_HIDE_PACKAGE;
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (hidden && (request === hidden || request.startsWith(hidden + '/'))) {
    const err = new Error(`Cannot find module '${request}' (hidden by the test)`);
    err.code = 'MODULE_NOT_FOUND';
    throw err;
  }
  return resolve.call(this, request, ...rest);
};

// Preloaded with --import (after tsx): makes QUIVER_HIDE_PACKAGE unresolvable to ES module
// imports, as if it were not installed (hide-package.cjs does the same for require()).
import { register } from 'node:module';

const hook = `
export async function resolve(specifier, context, next) {
  const hidden = process.env.QUIVER_HIDE_PACKAGE;
  if (hidden && (specifier === hidden || specifier.startsWith(hidden + '/'))) {
    const err = new Error("Cannot find package '" + specifier + "' (hidden by the test)");
    err.code = 'ERR_MODULE_NOT_FOUND';
    throw err;
  }
  return next(specifier, context);
}`;
register('data:text/javascript,' + encodeURIComponent(hook));

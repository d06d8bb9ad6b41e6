// Preloaded with --import (after tsx): makes an npm package unresolvable to import(), as if it
// were not installed (hide-package.cjs does the same for require()).
import { register } from 'node:module';

const hooks = `
let hidden = '';
export function initialize(data) { hidden = data.hidden; }
export async function resolve(specifier, context, next) {
  if (hidden && (specifier === hidden || specifier.startsWith(hidden + '/'))) {
    const err = new Error("Cannot find package '" + specifier + "' (hidden by the test)");
    err.code = 'ERR_MODULE_NOT_FOUND';
    throw err;
  }
  return next(specifier, context);
}`;
register('data:text/javascript,' + encodeURIComponent(hooks), { data: { hidden: process.env.QUIVER_HIDE_PACKAGE ?? '' } });

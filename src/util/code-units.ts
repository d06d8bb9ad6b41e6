/**
 * Orders strings by UTF-16 code units: the order of ids, names and keys everywhere they are
 * listed or written. Not localeCompare, whose order depends on the
 * machine's locale and ICU version, so that files and listings are the same on every host.
 */
export function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

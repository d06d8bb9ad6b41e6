/**
 * The shape of a payload, as log records and segments carry it (an embedded msgpack document).
 * Checking and copying payloads is the domain's job (vault/payload.ts).
 */
/** A payload: a plain object of msgpack-encodable values (README "Vaults, records, search"). */
export type PayloadValue = null | boolean | number | string | Uint8Array | PayloadValue[] | { [key: string]: PayloadValue };
export type Payload = { [key: string]: PayloadValue };

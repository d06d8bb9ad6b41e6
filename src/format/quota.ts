/** A vault's limits, as its vaultCreate record and its segment's meta carry them. */
export interface Quota {
  maxRecords?: number;
  maxBytes?: number;
}

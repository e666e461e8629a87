// Log evidence beside a receipt (receipt_evidence.log). Filled in with the
// transparency-log formats; until then, no log result.
export async function verifyLogEvidence() {
  return null;
}

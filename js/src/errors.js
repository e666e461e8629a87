// Input the verifier cannot use (not JSON, not a receipt, not a key set, ...).
// verify() turns it into the status "error"; it never reaches the caller as a throw.
export class InputError extends Error {
  constructor(message) {
    super(message);
    this.name = 'InputError';
  }
}

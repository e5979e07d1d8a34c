// The worker page's errors, named as their shardy.errors counterparts so a failure reported
// to the gateway reads the same as a Python worker's.

class PageError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A kernel, its params or its plan is wrong (permanent: retrying elsewhere gives the same). */
export class KernelError extends PageError {}

/** A preprocessor refused its params or payload, or trapped (permanent). */
export class PreprocessError extends PageError {}

/** WebGPU is missing, or the device failed or was lost (transient: worth retrying). */
export class GPUError extends PageError {}

/** A file the gateway served is missing or does not match its sha256. */
export class AssetError extends PageError {}

/** A frame or session message is malformed (or the gateway refused: `code` says why). */
export class FrameError extends PageError {}

/** The gateway refused this worker's enrollment or key, or the page has no enrollment link. */
export class AuthError extends PageError {}

/** A payload is malformed: it does not hash to its order, or its chunks break the protocol. */
export class PayloadError extends PageError {}

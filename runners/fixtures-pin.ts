/** The sha256 of the shipped fixtures/manifest.json, written by scripts/fixtures/pin.mjs: a run on the shipped fixtures refuses any other. */
export const SHIPPED_MANIFEST_SHA256 = '55d68324a915c819897798a36fd1b8131b85a54924be5cb69dc2da907eb7e99c';

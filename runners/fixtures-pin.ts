/** The sha256 of the shipped fixtures/manifest.json, written by scripts/fixtures/pin.mjs: a run on the shipped fixtures refuses any other. */
export const SHIPPED_MANIFEST_SHA256 = '944d22f3720ac8bf22a5944620358942f0762e45833d3f9f33c9d234d6896f8b';

/**
 * The fixtures are checked before any result is: every file against the manifest's sha256, and, for
 * the shipped fixtures, the manifest itself (tolerances included) against the sha256 pinned in code.
 * A user's own folder written by the generator is accepted with its own manifest, and the report says
 * which one, with its hash.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FixtureError } from '../../runners/errors';
import { SHIPPED_MANIFEST_SHA256 } from '../../runners/fixtures-pin';
import { packageRoot } from '../../runners/paths';
import { fixturesDir, loadManifest, verifyFixtureHashes } from './fixtures';

export interface FixtureIdentity {
  dir: string;
  /** Whether these are the fixtures this package ships (and so pinned). */
  shipped: boolean;
  manifestSha256: string;
  tolerancesSha256: string;
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

/**
 * Verifies the fixtures the run will read; throws a FixtureError that names the first problem.
 * `pin` says which folder is the shipped one and its manifest's sha256 (tests give their own).
 */
export function verifiedFixtures(pin = { dir: join(packageRoot(), 'fixtures'), manifestSha256: SHIPPED_MANIFEST_SHA256 }): FixtureIdentity {
  const dir = resolve(fixturesDir());
  const manifestPath = join(dir, 'manifest.json');
  const manifest = loadManifest();
  const manifestSha256 = sha256(readFileSync(manifestPath));
  const shipped = dir === resolve(pin.dir);
  if (shipped && manifestSha256 !== pin.manifestSha256) {
    throw new FixtureError(`${manifestPath} is not the manifest this package ships (its sha256 is ${manifestSha256.slice(0, 12)}…, the pinned one ${pin.manifestSha256.slice(0, 12)}…): restore it, or run npm run fixtures:generate, which pins the new one`);
  }
  const listed = new Set(Object.keys(manifest.files));
  const read = [...manifest.cases.map((c) => c.file), ...Object.values(manifest.models).flatMap((m) => [`${m.path}/config.json`, `${m.path}/model.safetensors`])];
  const unlisted = read.find((file) => !listed.has(file));
  if (unlisted) throw new FixtureError(`${join(dir, unlisted)} is read by the spec but has no sha256 in the manifest`);
  const bad = verifyFixtureHashes()[0];
  if (bad) throw new FixtureError(`${join(dir, bad.file)}: ${bad.problem === 'missing' ? 'missing' : "its sha256 is not the manifest's"}; the fixtures have been changed, and no result would mean anything`);
  return { dir, shipped, manifestSha256, tolerancesSha256: sha256(JSON.stringify(manifest.tolerances)) };
}

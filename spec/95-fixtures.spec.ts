/**
 * The golden fixtures are data from the reference generator, and the manifest pins every file by its
 * sha256, so a golden cannot change without the manifest saying so.
 */
import { describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fixturesDir, loadManifest, verifyFixtureHashes } from './support/fixtures';

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('The golden fixtures come from the reference generator, pinned by the manifest', () => {
  it('match the sha256 of every file the manifest lists', () => {
    expect(verifyFixtureHashes()).toEqual([]);
  });

  it('hold no file that the manifest does not list', () => {
    const listed = new Set(Object.keys(loadManifest().files));
    const unlisted = filesUnder(fixturesDir()).map((p) => relative(fixturesDir(), p)).filter((p) => p !== 'manifest.json' && !listed.has(p));
    expect(unlisted).toEqual([]);
  });

  it('say how they were made: the generator command and the library versions', () => {
    const { generator } = loadManifest();
    expect(generator.command).toMatch(/fixtures:generate/);
    expect(Object.keys(generator.versions)).toEqual(expect.arrayContaining(['torch', 'transformers']));
  });

  it('give every case file that exists a model that exists', () => {
    const m = loadManifest();
    for (const c of m.cases) {
      expect(existsSync(join(fixturesDir(), c.file))).toBe(true);
      expect(m.models[c.model]).toBeDefined();
    }
  });
});

// What this build of ebb is: the version from package.json and the git commit the image build
// passes in `EBB_GIT_COMMIT`. Read by `ebb --version` and the `ebb_build_info` metric, so the
// two never disagree. Imported, not read from disk: the compiler then copies package.json into
// dist/ (dist/package.json), so the compiled package finds it where the source tree does.
import packageJson from '../../package.json' with { type: 'json' };

export interface BuildInfo {
  readonly version: string;
  readonly gitCommit?: string | undefined;
}

export const ebbBuildInfo = (): BuildInfo => ({
  version: packageJson.version,
  gitCommit: process.env.EBB_GIT_COMMIT || undefined,
});

/** `ebb 0.1.0` or `ebb 0.1.0 (commit 1a2b3c4)`: what `ebb --version` prints. */
export const versionLine = (info: BuildInfo = ebbBuildInfo()): string =>
  `ebb ${info.version}${info.gitCommit === undefined ? '' : ` (commit ${info.gitCommit})`}`;

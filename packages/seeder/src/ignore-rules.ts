/**
 * Names never published: dotfiles (rsync and many copy tools write `.name.XXXXXX` and rename it
 * into place), and the usual partial/temporary files of downloaders and editors.
 */
const IGNORED_SUFFIXES = ['.part', '.tmp', '~', '.swp', '.swx', '.crdownload'];

/** Whether a file or directory with this base name is skipped. */
export function isIgnoredName(name: string): boolean {
  if (name.startsWith('.')) return true;
  return IGNORED_SUFFIXES.some((suffix) => name.endsWith(suffix));
}

/** Whether any component of a root-relative path ('a/b/c') is ignored. */
export function isIgnoredPath(relPath: string): boolean {
  return relPath.split('/').some(isIgnoredName);
}

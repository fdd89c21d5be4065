import fs from "node:fs";

/** Readable and writable by the server's own user only. */
const PRIVATE_DIRECTORY_MODE = 0o700;
const PRIVATE_FILE_MODE = 0o600;

/**
 * The data folder holds the database, the secret key and so every provider key's way out: it is
 * the server's user's alone (0700). Made so when created, and tightened when it exists with more
 * (returns true then, so the server can say so). Permission bits mean nothing on Windows; there the
 * folder's ACLs are the operator's.
 */
export function preparePrivateDirectory(directory: string): boolean {
  fs.mkdirSync(directory, { recursive: true, mode: PRIVATE_DIRECTORY_MODE });
  return restrictMode(directory, PRIVATE_DIRECTORY_MODE);
}

/**
 * A data file readable by the server's user only (0600): created empty when missing (SQLite starts
 * a new database in an empty file, and makes its -wal and -shm files with the database file's mode),
 * else tightened. Returns true when an existing file had to be tightened.
 */
export function preparePrivateFile(file: string, options: { createIfMissing: boolean } = { createIfMissing: true }): boolean {
  if (options.createIfMissing) {
    // 'a' creates without truncating: a file that exists keeps its content
    fs.closeSync(fs.openSync(file, "a", PRIVATE_FILE_MODE));
  } else if (!fs.existsSync(file)) {
    return false;
  }
  return restrictMode(file, PRIVATE_FILE_MODE);
}

function restrictMode(target: string, mode: number): boolean {
  if (process.platform === "win32") return false;
  const current = fs.statSync(target).mode & 0o777;
  if ((current & ~mode) === 0) return false;
  fs.chmodSync(target, mode);
  return true;
}

/** A key's longest length in characters (code points); key globs are held to the same. */
export const KEY_MAX_LENGTH = 512;

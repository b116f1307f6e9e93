/**
 * A VM's name (sek8s reads it from the config volume's `hostname` file) and a server's name.
 * Node names are DNS subdomains: 1–253 of [A-Za-z0-9._-], starting and ending with a letter or
 * digit, with no `..` (so a name is never `.`/`..`-like, and never a path step).
 */
export const VM_NAME_PATTERN = /^(?!.*\.\.)(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;

/** The validation message for a field holding a VM or server name. */
export const vmNameMessage = (field: string) => `${field} must be 1..253 of letters, digits, . _ -, starting and ending with a letter or digit, without ".."`;

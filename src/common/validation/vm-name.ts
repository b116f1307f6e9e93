/** What sek8s reads from the config volume's `hostname` file. */
export const VM_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

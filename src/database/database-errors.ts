/** SQLSTATEs that repositories turn into domain answers (a taken name, a duplicate GPU). */
const UNIQUE_VIOLATION = '23505';

/** A unique constraint refused the write (the SQLSTATE, wrapped by TypeORM or not). */
export function isUniqueViolation(error: unknown): boolean {
  const { code, driverError } = (error ?? {}) as { code?: unknown; driverError?: { code?: unknown } };
  return code === UNIQUE_VIOLATION || driverError?.code === UNIQUE_VIOLATION;
}

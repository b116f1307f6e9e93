/** GPUs against the matched measurement set: every identifier expected, the count as registered. */
export interface GpuVerdict {
  accepted: boolean;
  unexpected: string[];
  countExpected: number | null;
  countActual: number;
}

export function evaluateGpuPolicy(gpuIdentifiers: string[], expected: string[], gpuCount: number | null): GpuVerdict {
  const allowed = new Set(expected.map((id) => id.toLowerCase()));
  const unexpected = gpuIdentifiers.map((id) => id.toLowerCase()).filter((id) => !allowed.has(id));
  const countOk = gpuCount === null || gpuCount === gpuIdentifiers.length;
  return { accepted: unexpected.length === 0 && countOk, unexpected, countExpected: gpuCount, countActual: gpuIdentifiers.length };
}

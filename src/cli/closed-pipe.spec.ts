/**
 * `bootkey ... | head`: a reader that stops early closes the pipe, and the CLI must not die on the
 * EPIPE of its next write with a stack trace (the real process, compiled as `npm run build` does).
 */
import { removeCompiledCli, runBootkeyWithClosedReader } from '../../test/support/cli-runner';

afterAll(() => removeCompiledCli());

describe('the reader of bootkey output goes away', () => {
  it('stdout: bootkey --help stops quietly with exit code 0', async () => {
    expect(await runBootkeyWithClosedReader(['--help'], 'stdout')).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('stdout: bootkey --version too', async () => {
    expect(await runBootkeyWithClosedReader(['--version'], 'stdout')).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('stderr: the run still ends with its own exit code (2 for a usage error), not a crash', async () => {
    expect(await runBootkeyWithClosedReader(['serverz'], 'stderr')).toEqual({ code: 2, stdout: '', stderr: '' });
  });
});

import { describe, expect, expectTypeOf, it } from 'vitest';
import type { ErrorCode } from '../../src/errors.js';
import { toolsFor } from '../../src/tools/index.js';
import type { ToolName } from '../../src/tools/tool-types.js';
import { testConfig } from '../helpers/test-config.js';
import { errorCode, failure, ok, type CallTool, type ToolCall } from '../helpers/tool-call.js';

// The type assertions here are checked by `tsc --noEmit -p .` (npm run lint): each @ts-expect-error line must
// stay an error, so a test that misspells an argument or reads a field a tool does not return cannot compile.
describe('tool types derived from the schemas', () => {
  it('name every tool the server lists, and no other', () => {
    const names: ToolName[] = toolsFor(testConfig()).map((t) => t.name);
    expect(names).toHaveLength(10);
    expectTypeOf<ToolName>().toEqualTypeOf<
      | 'sandbox_create'
      | 'sandbox_execute'
      | 'sandbox_list'
      | 'sandbox_status'
      | 'sandbox_configure'
      | 'sandbox_upload'
      | 'sandbox_download'
      | 'sandbox_logs'
      | 'sandbox_stop'
      | 'sandbox_delete'
    >();
  });

  it('check arguments and type results by tool, as a union on isError', () => {
    // Never called: the calls below exist for the compiler.
    const typesOnly = (call: CallTool) => async () => {
      const r = await call('sandbox_execute', { sandbox_id: 'sbx-aaaaaaaaaaaa', code: 'print(1)', language: 'python' });
      expectTypeOf(ok(r).exit_code).toEqualTypeOf<number | null>();
      expectTypeOf(ok(r).status).toEqualTypeOf<'completed' | 'failed' | 'timeout' | 'running'>();
      expectTypeOf(failure(r).code).toEqualTypeOf<ErrorCode>();
      expectTypeOf(errorCode(r)).toEqualTypeOf<ErrorCode | undefined>();
      if (r.isError) expectTypeOf(r.structuredContent.error.hint).toBeString();
      else expectTypeOf(r.structuredContent.output).toBeString();
      // @ts-expect-error a field sandbox_execute does not return
      void ok(r).stdout;
      // @ts-expect-error an argument of the wrong type
      await call('sandbox_execute', { sandbox_id: 'sbx-aaaaaaaaaaaa', code: 42 });
      // @ts-expect-error a misspelt argument
      await call('sandbox_create', { template: 'python', memory: 256 });
      // @ts-expect-error a tool that does not exist
      await call('sandbox_exec', { code: 'x' });
      const listed = await call('sandbox_list', {});
      expectTypeOf(listed).toEqualTypeOf<ToolCall<'sandbox_list'>>();
      expectTypeOf(ok(listed).sandboxes[0]!.status).toEqualTypeOf<'running' | 'stopped'>();
    };
    expect(typeof typesOnly).toBe('function');
  });
});

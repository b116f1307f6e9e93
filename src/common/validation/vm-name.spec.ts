import { VM_NAME_PATTERN } from './vm-name';

const long = (n: number) => `a${'b'.repeat(n - 2)}c`;

describe('VM_NAME_PATTERN (DNS-subdomain style node names)', () => {
  it.each([
    ['one letter', 'a'],
    ['one digit', '7'],
    ['the classic form', 'vm-001'],
    ['an underscore', 'gpu_vm_1'],
    ['dots, as in a node name', 'node-1.dc2.example.com'],
    ['mixed case', 'Gpu-VM.A1'],
    ['253 characters', long(253)],
    ['64 characters (over the old limit of 63)', long(64)],
  ])('accepts %s', (_name, value) => {
    expect(VM_NAME_PATTERN.test(value)).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['254 characters', long(254)],
    ['a leading dot', '.vm'],
    ['a trailing dot', 'vm.'],
    ['a leading dash', '-vm'],
    ['a trailing dash', 'vm-'],
    ['a trailing underscore', 'vm_'],
    ['two dots in a row', 'vm..1'],
    ['only dots', '..'],
    ['a slash', 'vm/1'],
    ['a space', 'vm 1'],
    ['a trailing newline', 'vm\n'],
    ['a non-ASCII letter', 'vmä'],
    ['a colon', 'vm:1'],
  ])('refuses %s', (_name, value) => {
    expect(VM_NAME_PATTERN.test(value)).toBe(false);
  });
});

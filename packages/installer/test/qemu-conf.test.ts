import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAssignments, readQemuKeys, setQemuKeys } from '../src/edit/qemu-conf.js';
import { restoreEdits } from '../src/edit/text-edit.js';

/** Debian 12's /etc/libvirt/qemu.conf as shipped (libvirt-daemon-system 9.0.0-4+deb12u2). */
const debian = readFileSync(join(import.meta.dirname, 'fixtures/qemu.conf.debian12'), 'utf8');
const WANTED = { user: 'oneadmin', group: 'oneadmin', dynamic_ownership: 0 } as const;

function lineOf(text: string, line: string): number {
  return text.split('\n').indexOf(line);
}

describe('setQemuKeys on the Debian 12 qemu.conf (every key commented out)', () => {
  const result = setQemuKeys(debian, WANTED);

  it('inserts each key right after its commented default, not after the examples in the comments', () => {
    const lines = result.content.split('\n');
    expect(lines[lineOf(result.content, '#user = "libvirt-qemu"') + 1]).toBe('user = "oneadmin"');
    expect(lines[lineOf(result.content, '#group = "libvirt-qemu"') + 1]).toBe('group = "oneadmin"');
    expect(lines[lineOf(result.content, '#dynamic_ownership = 1') + 1]).toBe('dynamic_ownership = 0');
    expect(result.content.split('\n')).toHaveLength(debian.split('\n').length + 3);
  });

  it('changes nothing else', () => {
    const removed = result.content
      .split('\n')
      .filter((l) => !['user = "oneadmin"', 'group = "oneadmin"', 'dynamic_ownership = 0'].includes(l))
      .join('\n');
    expect(removed).toBe(debian);
  });

  it('reads back the wanted values', () => {
    expect(readQemuKeys(result.content, ['user', 'group', 'dynamic_ownership'])).toEqual({
      user: '"oneadmin"',
      group: '"oneadmin"',
      dynamic_ownership: '0',
    });
  });

  it('is idempotent: a second run finds nothing to do', () => {
    expect(setQemuKeys(result.content, WANTED)).toEqual({ content: result.content, edits: [] });
  });

  it('restores the original byte for byte', () => {
    expect(restoreEdits(result.content, result.edits)).toMatchObject({ content: debian, kept: [] });
  });
});

describe('setQemuKeys on hand-edited files', () => {
  const edited = [
    '# site settings',
    'user = "qemu"   # set by ops',
    '#group = "root"',
    'security_driver = [ "selinux",',
    '   "apparmor" ]   # user = "nobody" inside a comment',
    'cgroup_device_acl = [',
    '    "/dev/null", "/dev/full",',
    '    "/dev/kvm"',
    ']',
    'namespaces = [ ]',
    '',
  ].join('\n');

  it('rewrites a set key in place, inserts after a commented one, appends an absent one', () => {
    const result = setQemuKeys(edited, WANTED);
    expect(result.content).toBe(
      [
        '# site settings',
        'user = "oneadmin"',
        '#group = "root"',
        'group = "oneadmin"',
        'security_driver = [ "selinux",',
        '   "apparmor" ]   # user = "nobody" inside a comment',
        'cgroup_device_acl = [',
        '    "/dev/null", "/dev/full",',
        '    "/dev/kvm"',
        ']',
        'namespaces = [ ]',
        'dynamic_ownership = 0',
        '',
      ].join('\n'),
    );
    expect(result.edits.map((e) => e.original)).toEqual(['user = "qemu"   # set by ops\n', '', '']);
    expect(restoreEdits(result.content, result.edits).content).toBe(edited);
  });

  it('parses arrays over several lines as one assignment each', () => {
    expect(parseAssignments(edited).map((a) => a.key)).toEqual([
      'user',
      'security_driver',
      'cgroup_device_acl',
      'namespaces',
    ]);
    expect(readQemuKeys(edited, ['cgroup_device_acl']).cgroup_device_acl?.replace(/\s+/g, ' ')).toBe(
      '[ "/dev/null", "/dev/full", "/dev/kvm" ]',
    );
  });

  it('leaves a key that already has the wanted value alone, whatever its spacing', () => {
    const text = 'user="oneadmin"\ngroup   =   "oneadmin"\ndynamic_ownership=0';
    expect(setQemuKeys(text, WANTED).edits).toEqual([]);
  });

  it('handles a file without a final newline', () => {
    const text = '#user = "root"';
    const result = setQemuKeys(text, { user: 'oneadmin' });
    expect(result.content).toBe('#user = "root"\nuser = "oneadmin"\n');
    expect(restoreEdits(result.content, result.edits).content).toBe(text);
    const last = 'user = "root"';
    const replaced = setQemuKeys(last, { user: 'oneadmin' });
    expect(replaced.content).toBe('user = "oneadmin"');
    expect(restoreEdits(replaced.content, replaced.edits).content).toBe(last);
  });

  it('refuses a key set twice, and a value left open', () => {
    expect(() => setQemuKeys('user = "a"\nuser = "b"\n', WANTED)).toThrow(/user is set 2 times/);
    expect(() => setQemuKeys('security_driver = [ "selinux",\n', WANTED)).toThrow(/not closed/);
  });

  it('keeps a key the admin changed after the install when restoring', () => {
    const result = setQemuKeys(edited, WANTED);
    const changed = result.content.replace('group = "oneadmin"', 'group = "kvm"');
    const restored = restoreEdits(changed, result.edits);
    expect(restored.kept.map((e) => e.label)).toEqual(['qemu.conf group']);
    expect(restored.content).toContain('group = "kvm"');
    expect(restored.content).toContain('user = "qemu"   # set by ops');
    expect(restored.content).not.toContain('dynamic_ownership');
  });
});

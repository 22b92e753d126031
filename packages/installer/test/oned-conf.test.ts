import { describe, expect, it } from 'vitest';
import { addToFlagList, flagList, registerDriver, registrationStatus } from '../src/edit/oned-conf.js';
import { restoreEdits } from '../src/edit/text-edit.js';

/** The shapes of a stock oned.conf (6.10 entries; lower-case attribute names as older files have). */
const oned = `#*******************************************************************************
# Transfer Manager Driver Configuration
#*******************************************************************************
TM_MAD = [
    EXECUTABLE = "one_tm",
    ARGUMENTS = "-t 15 -d dummy,lvm,shared,fs_lvm,fs_lvm_ssh,qcow2,ssh,ceph,dev,vcenter,iscsi_libvirt"
]

#TM_MAD = [
#    EXECUTABLE = "one_tm",
#    ARGUMENTS = "-t 15 -d dummy"
#]

DATASTORE_MAD = [
    EXECUTABLE = "one_datastore",
    ARGUMENTS  = "-t 15 -d dummy,fs,lvm,ceph,dev,iscsi_libvirt,vcenter,restic,rsync -s shared,ssh,ceph,fs_lvm,fs_lvm_ssh,qcow2,vcenter"
]

TM_MAD_CONF = [
    name = "dummy", ln_target = "NONE", clone_target = "SYSTEM", shared = "yes"
]

TM_MAD_CONF = [
    NAME = "fs_lvm", LN_TARGET = "SYSTEM", CLONE_TARGET = "SYSTEM", SHARED = "YES",
    DRIVER = "raw", DISK_TYPE = "BLOCK"  # a comment with a ] bracket
]

DS_MAD_CONF = [
    NAME = "fs", REQUIRED_ATTRS = "", PERSISTENT_ONLY = "NO",
    MARKETPLACE_ACTIONS = "export"
]

INHERIT_DATASTORE_ATTR = "DISK_TYPE"
`;

describe('registerDriver', () => {
  const result = registerDriver(oned);

  it('appends gfs2clvm to TM_MAD -d and DATASTORE_MAD -d and -s, on their own lines', () => {
    expect(result.content).toContain(
      '    ARGUMENTS = "-t 15 -d dummy,lvm,shared,fs_lvm,fs_lvm_ssh,qcow2,ssh,ceph,dev,vcenter,iscsi_libvirt,gfs2clvm"\n',
    );
    expect(result.content).toContain(
      '    ARGUMENTS  = "-t 15 -d dummy,fs,lvm,ceph,dev,iscsi_libvirt,vcenter,restic,rsync,gfs2clvm -s shared,ssh,ceph,fs_lvm,fs_lvm_ssh,qcow2,vcenter,gfs2clvm"\n',
    );
    // The commented-out TM_MAD is left alone.
    expect(result.content).toContain('#    ARGUMENTS = "-t 15 -d dummy"\n');
  });

  it('adds TM_MAD_CONF after the last one and DS_MAD_CONF after the last one', () => {
    const tmConf = result.content.indexOf('NAME = "gfs2clvm",\n    LN_TARGET = "SYSTEM"');
    expect(tmConf).toBeGreaterThan(result.content.indexOf('NAME = "fs_lvm"'));
    expect(tmConf).toBeLessThan(result.content.indexOf('DS_MAD_CONF'));
    expect(result.content).toMatch(
      /MARKETPLACE_ACTIONS = "export"\n\]\n\nDS_MAD_CONF = \[\n {4}NAME = "gfs2clvm"/,
    );
    expect(result.content).toContain('    DS_LIVE_MIGRATE = "NO",\n');
  });

  it('reports every part as registered afterwards, and none before', () => {
    expect(registrationStatus(result.content)).toEqual({
      tmMad: true,
      datastoreMadD: true,
      datastoreMadS: true,
      tmMadConf: true,
      dsMadConf: true,
    });
    expect(registrationStatus(oned)).toEqual({
      tmMad: false,
      datastoreMadD: false,
      datastoreMadS: false,
      tmMadConf: false,
      dsMadConf: false,
    });
  });

  it('is idempotent and restores byte for byte', () => {
    expect(registerDriver(result.content)).toEqual({ content: result.content, edits: [] });
    expect(result.edits).toHaveLength(4);
    expect(restoreEdits(result.content, result.edits)).toMatchObject({ content: oned, kept: [] });
  });

  it('leaves an ARGUMENTS without -d alone (every driver is accepted then)', () => {
    const open = oned.replace(
      '-t 15 -d dummy,lvm,shared,fs_lvm,fs_lvm_ssh,qcow2,ssh,ceph,dev,vcenter,iscsi_libvirt',
      '-t 15',
    );
    const edited = registerDriver(open);
    expect(edited.content).toContain('ARGUMENTS = "-t 15"\n');
    expect(registrationStatus(edited.content).tmMad).toBe(true);
  });

  it('without -s, adds the built-in list of one_datastore.rb plus gfs2clvm (older oned.conf files)', () => {
    const noS = oned.replace(' -s shared,ssh,ceph,fs_lvm,fs_lvm_ssh,qcow2,vcenter"', '"');
    // Missing -s means shared,ssh,ceph only: gfs2clvm's system-DS monitor would be refused.
    expect(registrationStatus(noS).datastoreMadS).toBe(false);
    const edited = registerDriver(noS);
    expect(edited.content).toContain(
      '    ARGUMENTS  = "-t 15 -d dummy,fs,lvm,ceph,dev,iscsi_libvirt,vcenter,restic,rsync,gfs2clvm -s shared,ssh,ceph,gfs2clvm"\n',
    );
    expect(registrationStatus(edited.content).datastoreMadS).toBe(true);
    expect(registerDriver(edited.content).edits).toEqual([]);
    expect(restoreEdits(edited.content, edited.edits).content).toBe(noS);
    expect(addToFlagList('-t 15  ', '-s', 'x')).toBe('-t 15 -s shared,ssh,ceph,x  ');
    expect(addToFlagList('', '-s', 'x')).toBe('-s shared,ssh,ceph,x');
    expect(addToFlagList('-t 15', '-s', 'ssh')).toBe('-t 15');
  });

  it('refuses files it cannot edit safely, with one line', () => {
    expect(() => registerDriver('# no blocks here\n')).toThrow(/no TM_MAD block/);
    expect(() => registerDriver(`${oned}\nTM_MAD = [ EXECUTABLE = "x" ]\n`)).toThrow(
      /TM_MAD is defined twice/,
    );
    expect(() => registerDriver('TM_MAD = [\n  ARGUMENTS = "-d a"\n')).toThrow(/not closed/);
  });
});

describe('flag lists', () => {
  it('adds a driver once, keeping the spacing', () => {
    expect(addToFlagList('-t 15  -d a,b  -s c', '-d', 'x')).toBe('-t 15  -d a,b,x  -s c');
    expect(addToFlagList('-t 15 -d a,x', '-d', 'x')).toBe('-t 15 -d a,x');
    expect(addToFlagList('-t 15', '-d', 'x')).toBe('-t 15');
    expect(flagList('-t 15 -d a,b -s c', '-s')).toEqual(['c']);
    expect(flagList('-t 15', '-s')).toBeUndefined();
  });
});

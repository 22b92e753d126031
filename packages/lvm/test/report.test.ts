import { describe, expect, it } from 'vitest';
import {
  LvmError,
  parseLvmJson,
  parseLvmOutput,
  parseLvsReport,
  parsePvsReport,
  parseVgsReport,
} from '../src/index.js';
import { recorded } from '../src/testing.js';

// LVM 2.03.16 (the testbed's and this machine's) refuses `json_std` (see recorded.lvsJsonStdRefused),
// so this sample is constructed from lvmreport(7): numbers unquoted, `null` for undefined numbers,
// string lists as arrays. It is the shape newer LVM (≥ 2.03.17) prints.
const LVS_JSON_STD = `{
  "report": [
    {
      "lv": [
        {"lv_name":"lv-one-7-0", "vg_name":"vg-one-100", "lv_uuid":"u1", "lv_attr":"-wi-ao----", "lv_size":12582912, "lv_tags":["one_active_node1","one_ds_100"], "pool_lv":"", "origin":"", "data_percent":null, "metadata_percent":null, "lv_active":"active", "lv_active_locally":1, "lv_active_exclusively":1, "lv_layout":["linear"], "lv_role":["public"]},
        {"lv_name":"pool0", "vg_name":"vg-one-100", "lv_uuid":"u2", "lv_attr":"twi-a-tz--", "lv_size":67108864, "lv_tags":[], "pool_lv":"", "origin":"", "data_percent":12.5, "metadata_percent":10.45, "lv_active":"active", "lv_active_locally":1, "lv_active_exclusively":1, "lv_layout":["thin","pool"], "lv_role":["private"], "lv_metadata_size":4194304},
        {"lv_name":"thin1", "vg_name":"vg-one-100", "lv_uuid":"u3", "lv_attr":"Vwi---tz--", "lv_size":1073741824, "lv_tags":[], "pool_lv":"pool0", "origin":"", "data_percent":null, "metadata_percent":null, "lv_active":"", "lv_active_locally":0, "lv_active_exclusively":0, "lv_layout":["thin","sparse"], "lv_role":["public"]}
      ]
    }
  ]
  ,
  "log": [
  ]
}`;

describe('lvs report, json (recorded on LVM 2.03.16)', () => {
  const lvs = parseLvsReport(recorded.lvsJson.stdout);

  it('reads every LV with exact byte sizes', () => {
    expect(lvs.map((lv) => [lv.name, lv.sizeBytes])).toEqual([
      ['lv-one-7-0', 12 * 2 ** 20],
      ['lv-oneimg-3', 2 ** 30],
      ['odd+name_1.x-y', 4 * 2 ** 20],
    ]);
    expect(lvs.every((lv) => lv.vg === 'vg-rec-1')).toBe(true);
  });

  it('tags: a list, and empty for none', () => {
    expect(lvs[0]?.tags).toEqual(['one_active_node1', 'one_ds_100']);
    expect(lvs[1]?.tags).toEqual([]);
  });

  it('activation disabled: LVM cannot tell (-1 / X) and says so as null', () => {
    expect(lvs[0]?.attr.raw).toBe('-wi-XX----');
    expect(lvs[0]?.active).toBeNull();
    expect(lvs[0]?.activeLocally).toBeNull();
    expect(lvs[0]?.layout).toEqual(['linear']);
    expect(lvs[0]?.pool).toBeNull();
    expect(lvs[0]?.dataPercent).toBeNull();
  });

  it('extend result shows LVM rounding to whole extents', () => {
    const lv = parseLvsReport(recorded.lvsAfterExtend.stdout).find((l) => l.name === 'lv-one-7-0');
    expect(lv?.sizeBytes).toBe(16 * 2 ** 20);
  });
});

describe('lvs report, json_std (constructed)', () => {
  const lvs = parseLvsReport(LVS_JSON_STD);
  it('numbers, nulls and arrays', () => {
    expect(lvs[0]).toMatchObject({
      sizeBytes: 12582912,
      tags: ['one_active_node1', 'one_ds_100'],
      active: true,
      open: true,
    });
    expect(lvs[0]?.activeExclusively).toBe(true);
    expect(lvs[1]).toMatchObject({ dataPercent: 12.5, metadataPercent: 10.45, layout: ['thin', 'pool'] });
    // lv_metadata_size: a pool's metadata LV; rows without the field (an older helper) give null.
    expect(lvs[1]?.metadataSizeBytes).toBe(4194304);
    expect(lvs[0]?.metadataSizeBytes).toBeNull();
    expect(lvs[1]?.attr.pool).toBe(true);
    expect(lvs[2]).toMatchObject({
      pool: 'thin1'.replace('thin1', 'pool0'),
      active: false,
      activeLocally: false,
    });
    expect(lvs[2]?.attr.thin).toBe(true);
  });
});

describe('lvs on the testbed (lvmlockd + sanlock, recorded)', () => {
  const lvs = parseLvsReport(recorded.lvsTestbed.stdout);
  const byRole = (suffix: string) => lvs.find((l) => l.name.endsWith(suffix));

  it('active and inactive, exact sizes, tags', () => {
    expect(byRole('-active')).toMatchObject({
      active: true,
      activeLocally: true,
      tags: ['one_active_node1'],
      sizeBytes: 8 * 2 ** 20,
    });
    expect(byRole('-idle')).toMatchObject({
      active: false,
      activeLocally: false,
      open: false,
      tags: [],
      sizeBytes: 16 * 2 ** 20,
    });
    expect(byRole('-idle')?.attr.raw).toBe('-wi-------');
  });

  it('origin and thick snapshot', () => {
    expect(byRole('-active')?.attr.volumeType).toBe('origin');
    expect(byRole('-snap')).toMatchObject({ origin: byRole('-active')?.name, dataPercent: 0 });
    expect(byRole('-snap')?.attr.snapshot).toBe(true);
    expect(byRole('-snap')?.role).toEqual(['public', 'snapshot', 'thicksnapshot']);
  });

  it('thin pool and thin volume', () => {
    const pool = byRole('-pool');
    expect(pool?.attr).toMatchObject({ volumeType: 'thin-pool', thin: true, pool: true, open: true });
    expect(pool?.metadataPercent).toBe(10.94);
    expect(pool?.layout).toEqual(['thin', 'pool']);
    expect(byRole('-thin')).toMatchObject({
      pool: pool?.name,
      sizeBytes: 128 * 2 ** 20,
      layout: ['thin', 'sparse'],
    });
    expect(byRole('-thin')?.attr.thin).toBe(true);
  });

  it('the same VG seen from node2: nothing active there', () => {
    const other = parseLvsReport(recorded.lvsTestbedOtherHost.stdout).filter((l) => /^lv-r/.test(l.name));
    expect(other.length).toBe(5);
    expect(other.every((l) => l.active === false)).toBe(true);
  });

  it('the shared VG: sanlock, shared', () => {
    const [vg] = parseVgsReport(recorded.vgsTestbedShared.stdout);
    expect(vg).toMatchObject({ name: 'vg-one-100', lockType: 'sanlock', sharing: 'shared' });
  });
});

describe('vgs and pvs reports (recorded)', () => {
  it('vgs', () => {
    const [vg] = parseVgsReport(recorded.vgsJson.stdout);
    expect(vg).toMatchObject({ name: 'vg-rec-1', lockType: null, sharing: 'local', pvCount: 1, tags: [] });
    expect(vg?.extentSizeBytes).toBe(4 * 2 ** 20);
    expect(vg?.sizeBytes).toBe((vg?.extentCount ?? 0) * (vg?.extentSizeBytes ?? 0));
    expect(vg?.freeBytes).toBe((vg?.freeExtentCount ?? 0) * (vg?.extentSizeBytes ?? 0));
    expect(vg?.metadataAreaBytes).toBeGreaterThan(0);
    expect(vg?.metadataFreeBytes).toBeLessThan(vg?.metadataAreaBytes ?? 0);
  });

  it('pvs', () => {
    const [pv] = parsePvsReport(recorded.pvsJson.stdout);
    expect(pv?.name).toMatch(/^\/dev\/loop\d+$/);
    expect(pv?.vg).toBe('vg-rec-1');
    expect(pv?.deviceSizeBytes).toBeGreaterThanOrEqual(pv?.sizeBytes ?? Number.POSITIVE_INFINITY);
  });
});

describe('the log section', () => {
  it('a failed report: no rows, the log says why', () => {
    const out = parseLvmOutput(recorded.lvsLvNotFound.stdout, 'lv');
    expect(out.rows).toEqual([]);
    expect(out.log[0]).toMatchObject({
      type: 'error',
      objectType: 'lv',
      objectName: 'nope',
      objectGroup: 'vg-rec-1',
      message: 'Failed to find logical volume "vg-rec-1/nope"',
      errno: -1,
    });
    expect(out.log.at(-1)).toMatchObject({ type: 'status', message: 'failure', retCode: 5 });
  });

  it('a write command prints only a log, with a trailing comma LVM 2.03.16 leaves in', () => {
    expect(() => JSON.parse(recorded.lvcreateOkJson.stdout)).toThrow();
    const out = parseLvmOutput(recorded.lvcreateOkJson.stdout);
    expect(out.log.map((e) => e.type)).toEqual(['warn', 'print']);
    expect(out.log[1]?.message).toBe('Logical volume "lv-one-7-0" created.');
  });

  it('the trailing-comma repair leaves commas inside strings alone', () => {
    expect(parseLvmJson('{"a":"x,]", "b":[1,2,],}')).toEqual({ a: 'x,]', b: [1, 2] });
    expect(parseLvmJson('{"a":"q\\",}"}')).toEqual({ a: 'q",}' });
  });

  it('empty stdout is no rows and no log', () => {
    expect(parseLvmOutput('', 'lv')).toEqual({ rows: [], log: [] });
    expect(parseLvsReport('  \n')).toEqual([]);
  });
});

describe('PARSE errors', () => {
  it.each([
    ['not JSON', 'vgs: error'],
    ['truncated', '{"report": [ {"lv": ['],
    ['not an object', '[1,2]'],
    ['no report', '{"x":1}'],
    ['wrong section', '{"report":[{"vg":[]}]}'],
    ['missing field', '{"report":[{"lv":[{"lv_name":"a"}]}]}'],
  ])('%s', (_what, text) => {
    expect(() => parseLvsReport(text)).toThrow(LvmError);
    try {
      parseLvsReport(text);
    } catch (e) {
      expect((e as LvmError).code).toBe('PARSE');
    }
  });

  it('a size that is not an exact integer is refused, not rounded', () => {
    const row = JSON.parse(LVS_JSON_STD).report[0].lv[0];
    for (const size of ['12.5', 'abc', 2 ** 60, '99999999999999999999']) {
      const text = JSON.stringify({ report: [{ lv: [{ ...row, lv_size: size }] }] });
      expect(() => parseLvsReport(text)).toThrow(/lv_size/);
    }
  });
});

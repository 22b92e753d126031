/**
 * The `--config` given to every LVM command this library runs (the host helper embeds the same
 * string). It only overrides settings that must hold on a LUN shared by many hosts, whatever the
 * host's lvm.conf says; locking itself (`use_lvmlockd`, `host_id`) stays in lvm.conf, where the
 * lock manager set-up owns it.
 *
 * * `devices/hints="none"` — hints cache the list of PV devices per host; another host adding a PV or
 *   changing the VG on the shared LUN makes them stale. vdsm turns them off for the same reason.
 * * `devices/obtain_device_list_from_udev=0` — scan /dev directly rather than trusting udev's database,
 *   which lags behind (or misses) devices on a busy SAN host (vdsm does the same).
 * * `activation/udev_sync=1`, `activation/udev_rules=1` — wait until udev has made `/dev/<vg>/<lv>` and
 *   applied its rules (the installer's rule gives the LV to `oneadmin`) before the command returns, so
 *   the next command (`qemu-img`, `dd`) finds the device with the right owner.
 * * `activation/monitoring=0` — no dmeventd monitoring of thin pools/snapshots started by our
 *   activations: the drivers size their LVs themselves, and dmeventd auto-extension on one host of a
 *   shared VG would change metadata behind the other hosts' back.
 */
export const LVM_CONFIG =
  'devices { hints="none" obtain_device_list_from_udev=0 } ' +
  'activation { udev_sync=1 udev_rules=1 monitoring=0 }';

/**
 * Added to commands run with `--reportformat json*`: LVM then puts its messages (errors with
 * object names and return codes) into the JSON `log` section on stdout instead of stderr, which is
 * what `classify` reads. Not given to commands without a JSON report format: there the log would be
 * printed as a text table on stdout.
 */
export const LVM_CONFIG_JSON_LOG = `${LVM_CONFIG} log { report_command_log=1 }`;

/** Fields read for `lvs` (one row per LV; no segment fields, which would multiply rows). */
export const LV_FIELDS = [
  'lv_name',
  'vg_name',
  'lv_uuid',
  'lv_attr',
  'lv_size',
  'lv_tags',
  'pool_lv',
  'origin',
  'data_percent',
  'metadata_percent',
  'lv_active',
  'lv_active_locally',
  'lv_active_exclusively',
  'lv_layout',
  'lv_role',
  // An LV field (one row per LV), unlike `chunk_size`, a segment field that would multiply rows.
  'lv_metadata_size',
] as const;

/**
 * VG fields the plain-LVM `lvs` adds to `LV_FIELDS`: the lock mode of an LV's VG comes with the LV,
 * so `lockMode: 'auto'` needs no `vgs` of its own after a `getLv` (the helper's report has fixed fields).
 */
export const LV_VG_FIELDS = ['vg_attr', 'vg_lock_type'] as const;

export const VG_FIELDS = [
  'vg_name',
  'vg_uuid',
  'vg_attr',
  'vg_size',
  'vg_free',
  'vg_extent_size',
  'vg_extent_count',
  'vg_free_count',
  'lv_count',
  'pv_count',
  'vg_lock_type',
  'vg_tags',
  'vg_mda_size',
  'vg_mda_free',
] as const;

export const PV_FIELDS = [
  'pv_name',
  'vg_name',
  'pv_uuid',
  'pv_attr',
  'pv_size',
  'pv_free',
  'dev_size',
  'pv_tags',
  'pv_mda_size',
  'pv_mda_free',
] as const;

/**
 * Capabilities are found by trying, not by parsing `lvm version`: the command is first run with
 * `--reportformat json_std` / `--setautoactivation n`; an LVM that does not know the option refuses
 * the command line with exit 3 before doing anything (2.03.16 says "Invalid argument for
 * --reportformat: json_std"), and the library runs it again without and remembers that per `Lvm`.
 * (`--setautoactivation` exists since 2.03.12, `json_std` since 2.03.17.)
 */
export const REPORT_FORMATS = ['json_std', 'json'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/**
 * Boot-time re-activation: after a host reboots, the LVs its VMs used are inactive; the drivers
 * tag each LV they activate for a VM with `one_active_<host>`, and this unit activates those
 * again (exclusively) once the lock manager is up, before libvirt starts guests.
 */
export function renderReactivateUnit(helperPath: string): string {
  return [
    '# one-gfs2clvm: re-activate the LVs of the VMs that ran on this host before it rebooted.',
    '# Installed by `one-gfs2clvm install --role host`, removed by `one-gfs2clvm uninstall`.',
    '[Unit]',
    'Description=Re-activate the LVs of OpenNebula VMs that ran on this host (one-gfs2clvm)',
    'After=lvmlockd.service lvmlocks.service sanlock.service dlm.service lvm2-lvmpolld.service local-fs.target',
    'Before=libvirtd.service libvirt-guests.service',
    '',
    '[Service]',
    'Type=oneshot',
    'RemainAfterExit=yes',
    `ExecStart=${helperPath} reactivate-boot`,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

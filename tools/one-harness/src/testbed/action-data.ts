import { dsActionData } from '../ds-payload.js';
import { IMG_DS, IMG_DS_TEMPLATE } from './front-end.js';

const cdata = (value: string) => `<![CDATA[${value.replaceAll(']]>', ']]]]><![CDATA[>')}]]>`;

/**
 * `DS_DRIVER_ACTION_DATA` of an image action as oned sends it: the `<IMAGE>` (`image`, may be empty)
 * then the image datastore `dsId` with `template`.
 */
export function imageActionData(image: string, template = IMG_DS_TEMPLATE, dsId = IMG_DS): string {
  const t = Object.entries(template)
    .map(([k, v]) => `<${k}>${cdata(v)}</${k}>`)
    .join('');
  return dsActionData({
    dsMad: 'gfs2clvm',
    tmMad: 'gfs2clvm',
    type: 0,
    id: dsId,
    before: image,
    datastoreExtra:
      `<NAME>${cdata(`ds${dsId}`)}</NAME><BASE_PATH>/var/lib/one//datastores/${dsId}</BASE_PATH>` +
      `<CLUSTERS><ID>0</ID></CLUSTERS><TEMPLATE>${t}</TEMPLATE>`,
  });
}
